"""The dense-transfer study (tools/analysis_tools/study/run.py transfer): its
plan, its schedule rule, and a smoke run end to end -- pretraining, every
scene config trained 2 iterations from the checkpoint just written (or from
random init) and tested on 8 scenes, resumed without redoing anything, and
reported."""
import json
import os.path as osp
import sys

import pytest
from mmengine.config import Config

from .....harness import REPO

sys.path.insert(0, osp.join(REPO, 'tools/analysis_tools'))
from study.transfer import command
from study.transfer import stages as ts
from study.transfer.finetune import fit_schedule

STUDY = osp.join(REPO, 'docs/small_scale_study_flops.json')


def study(tmp_path, **kw):
    args = command.parse_args(
        ['--cache', str(tmp_path), '--results', str(tmp_path / 'r.json')]
        + [f'--{k}={v}' for k, v in kw.items()])
    return ts.TransferStudy(args, spawn=None)


def test_plan_order(tmp_path):
    """ResNet rows with three seeds first (seed-major), then the ViT rows,
    then the single-seed rows."""
    pairs = study(tmp_path).pairs()
    assert pairs[:3] == [('mixmask-mocov2', 0), ('mocov2', 0),
                         ('random-init-resnet', 0)]
    assert pairs[8] == ('random-init-resnet', 2)
    assert pairs[9:12] == [('symmim-asymmetric', 0), ('mae', 0),
                           ('random-init', 0)]
    assert pairs[-2:] == [('symmim-random-asym', 0), ('mocov3', 0)]
    assert len(pairs) == 20


def test_pretrain_jobs_are_the_studys_runs(tmp_path):
    """Knobs as the equal-FLOP study chose them, 3x its FLOP unit; random
    inits are not pretrained."""
    s = study(tmp_path)
    unit = json.load(open(STUDY))['budget_flops']
    job = s.pretrain_job('symmim-asymmetric', 1)
    assert job['knobs'] == {'lr': 0.5} and job['seed'] == 1
    assert job['budget_flops'] == int(3 * unit)
    assert job['tag'] == 'symmim-asymmetric_s1_lr=0.5_x3'
    mix = s.pretrain_job('mixmask-mocov2', 0)
    assert mix['knobs']['bn_splits'] == 8  # the ResNet recipe
    assert s.pretrain_job('random-init', 0) is None
    ft = s.finetune_job('mae', 2, 'seg')
    assert ft['config'].endswith('upernet_vit-tiny-p4_1xb8-800i_'
                                 'fmnist-scenes.py') and ft['iters'] == 800


@pytest.mark.parametrize('task,family', [(t, f) for t in ts.TASKS
                                         for f in ('vit', 'resnet')])
def test_fit_schedule(task, family):
    """The config's own schedule at another length: warm-up and decay at
    the same fractions, validation off, a checkpoint every 200 steps."""
    cfg = Config.fromfile(osp.join(REPO, ts.TASKS[task][family]))
    fit_schedule(cfg, 400)
    assert cfg.train_cfg.max_iters == 400
    assert cfg.train_cfg.val_interval > 400
    for s in cfg.param_scheduler:
        assert s.get('end', 0) <= 400
        for m in s.get('milestones', []):
            assert 0 < m < 400
    assert cfg.default_hooks.checkpoint.interval == 200


def test_bad_options(tmp_path, capsys):
    with pytest.raises(SystemExit):
        command.parse_args(['--iters', '0'])
    assert '--iters must be >= 1' in capsys.readouterr().err


@pytest.mark.slow
def test_smoke_run_resumes_and_reports(tmp_path):
    """Two pretrainings (1 step each), the four scene configs trained 2
    steps and tested on 8 scenes; a second start runs nothing; the report
    fills the page's block."""
    rows = ['symmim-asymmetric', 'mixmask-mocov2', 'random-init',
            'random-init-resnet']
    argv = ['--smoke', '--cache', str(tmp_path), '--seeds', '0',
            '--rows', *rows]
    res = command.main(argv)
    assert len(res['pretrain']) == 2 and len(res['runs']) == 8
    for run in res['runs']:
        keys = (('coco/bbox_mAP', 'coco/segm_mAP') if run['task'] == 'det'
                else ('mIoU', ))
        assert all(k in run['metrics'] for k in keys), run
        assert (run.get('checkpoint') is None) == run['row'].startswith(
            'random'), run
    again = command.main(argv)
    assert again['runs'] == res['runs']
    doc = tmp_path / 'page.md'
    doc.write_text('head\n<!-- study:begin -->\n<!-- study:end -->\ntail\n')
    from study.transfer import report as tr
    tr.write_report(res, str(doc), str(tmp_path / 'fig.png'))
    text = doc.read_text()
    assert '| SymMIM default | vit |' in text
    assert 'MixMask - random init (ResNet)' in text
    assert osp.isfile(tmp_path / 'fig.png')
