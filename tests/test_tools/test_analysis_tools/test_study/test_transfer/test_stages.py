"""study/transfer/stages.py: the plan's order; the pretraining jobs are
the equal-compute study's runs."""
import json
import os.path as osp

from study.transfer import command
from study.transfer import stages as ts
from .....harness import REPO

STUDY = osp.join(REPO, 'docs/small_scale_study_flops.json')


def study(tmp_path, **kw):
    args = command.parse_args(
        ['--cache', str(tmp_path), '--results', str(tmp_path / 'r.json')]
        + [f'--{k}={v}' for k, v in kw.items()])
    return ts.TransferStudy(args, spawn=None)


def test_plan_order(tmp_path):
    """Seed by seed over the three-seed rows (ViT, then ResNet), then the
    single-seed rows."""
    pairs = study(tmp_path).pairs()
    assert pairs[:6] == [('symmim-asymmetric', 0), ('mae', 0),
                         ('random-init', 0), ('mixmask-mocov2', 0),
                         ('mocov2', 0), ('random-init-resnet', 0)]
    assert pairs[6] == ('symmim-asymmetric', 1)
    assert pairs[17] == ('random-init-resnet', 2)
    assert pairs[-3:] == [('symmim-random-asym', 0), ('mocov3', 0),
                          ('symmim-asymmetric-ema', 0)]
    assert len(pairs) == 21


def test_a_row_reading_anothers_checkpoint_runs_with_its_source(tmp_path):
    """The momentum-encoder row pretrains nothing of its own: its
    fine-tunes (with its prefix) join SymMIM default's seed-0 unit, after
    that unit's pretraining and fine-tunes, from the same checkpoint."""
    s = study(tmp_path)
    assert s.pretrain_job('symmim-asymmetric-ema', 0) == \
        s.pretrain_job('symmim-asymmetric', 0)
    units = s.units(True, True)
    assert [u[:2] for u in units].count(('symmim-asymmetric-ema', 0)) == 0
    row, seed, jobs = units[0]
    assert (row, seed) == ('symmim-asymmetric', 0)
    assert [(j['kind'], j['row']) for j in jobs] == [
        ('pretrain', 'symmim-asymmetric'),
        ('finetune', 'symmim-asymmetric'), ('finetune', 'symmim-asymmetric'),
        ('finetune', 'symmim-asymmetric-ema'),
        ('finetune', 'symmim-asymmetric-ema')]
    assert jobs[-1]['prefix'] == 'momentum_encoder.module.backbone.'
    assert 'prefix' not in jobs[1]
    # without its source in the plan, the row's unit pretrains the source
    alone = study(tmp_path, rows='symmim-asymmetric-ema').units(True, True)
    assert [(u[0], [j['kind'] for j in u[2]]) for u in alone] == [
        ('symmim-asymmetric-ema', ['pretrain', 'finetune', 'finetune'])]
    assert alone[0][2][0]['tag'] == 'symmim-asymmetric_s0_lr=0.5_x3'


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
