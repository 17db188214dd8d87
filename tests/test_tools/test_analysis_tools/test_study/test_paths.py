"""study/paths.py and the names a run is found by: the results files, work
dirs, cache and run tags the studies resume from are the ones they had
before the move into tools/analysis_tools/study/ (runs in progress find
their checkpoints by them)."""
import os.path as osp

from study import paths, stages
from study import small_scale as study
from study.transfer import command
from study.transfer import stages as ts
from ....harness import REPO

CACHE = osp.join(osp.expanduser('~'), '.cache/mmsymmim/transfer_study')


def test_repo_and_entry_point():
    assert paths.REPO == REPO
    assert paths.RUN == osp.join(REPO, 'tools/analysis_tools/study/run.py')
    assert osp.isfile(paths.RUN)


def test_small_scale_results_and_work_dirs():
    args = study.parse_args([])
    assert args.results == osp.join(REPO, 'docs/small_scale_study_flops.json')
    assert args.work_dir == osp.join(REPO, 'work_dirs/small_scale_flops')
    smoke = study.parse_args(['--smoke'])
    assert smoke.work_dir == osp.join(REPO, 'work_dirs/small_scale_smoke')
    assert smoke.results == osp.join(smoke.work_dir, 'results.json')


def test_small_scale_run_tags(tmp_path):
    s = stages.Study(dict(runs=[], budget_flops=1000),
                     study.parse_args(['--smoke', '--work-dir',
                                       str(tmp_path)]), spawn=None)
    assert s.job('mae', 0, {}, ['test'])['tag'] == 'mae_s0_default'
    assert s.job('symmim-asymmetric', 1, dict(lr=0.5), ['test'],
                 3)['tag'] == 'symmim-asymmetric_s1_lr=0.5_x3'
    assert s.job('symmim-random-asym', 2, dict(lr=0.5, mask_ratio=0.25),
                 ['test'])['tag'] == (
                     'symmim-random-asym_s2_lr=0.5_mask_ratio=0.25')
    assert s.job('mocov2', 0, dict(lr=0.5, bn_splits=8), ['val'])[
        'tag'] == 'mocov2_s0_bn_splits=8_lr=0.5'


def test_transfer_results_cache_and_tags(tmp_path):
    args = command.parse_args([])
    assert args.cache == CACHE
    assert args.results == osp.join(REPO, 'docs/transfer_study.json')
    assert args.study == osp.join(REPO, 'docs/small_scale_study_flops.json')
    smoke = command.parse_args(['--smoke'])
    assert smoke.cache == osp.join(CACHE, 'smoke')
    assert smoke.results == osp.join(CACHE, 'smoke', 'results.json')
    s = ts.TransferStudy(command.parse_args(
        ['--cache', str(tmp_path), '--results', str(tmp_path / 'r.json')]),
        spawn=None)
    assert s.pretrain_tag('mixmask-mocov2', 0).startswith(
        'mixmask-mocov2_s0_bn_splits=8')
    assert s.finetune_job('mocov2', 2, 'det')['tag'] == 'det_mocov2_s2'
