"""Every config under configs/ trains: two iterations on the CPU with its own
pipeline, model, optimiser constructor, schedule and hooks, on a tiny data
set in its own layout made from real images. What a run changes is listed
once, in ``config_sweep.sweep_run``; the classification of the files is
``config_sweep.classify``."""
import contextlib
import gc
import glob
import json
import math
import os
import os.path as osp
import sys

import pytest
import torch
from filelock import FileLock

from . import config_sweep as sweep
from . import sweep_checks
from .harness import (
    DIST_TRAIN,
    REPO,
    TRAIN,
    free_port,
    once_per_session,
    run,
    run_tool,
)
from .sweep_data import make_data

ALIASES = [p for p in sweep.CONFIG_FILES
           if '/_base_/' not in p and sweep.alias_target(p)]
TRAINED = [p for p in sweep.CONFIG_FILES
           if sweep.rel(p) not in sweep.NOT_TRAINED_HERE
           and '/_base_/' not in p and p not in ALIASES]
PRETRAIN = [p for p in TRAINED if '/benchmarks/' not in p]
BENCHMARKS = [p for p in TRAINED if '/benchmarks/' in p]


def ids(paths):
    return [osp.basename(p)[:-3] for p in paths]


@pytest.fixture(scope='session')
def sweep_data(tmp_path_factory, fmnist_root):
    folder = once_per_session(tmp_path_factory, 'sweep_data',
                              lambda f: make_data(f, fmnist_root))
    return dict(imagenet=str(folder / 'imagenet'),
                folder=str(folder / 'images'))


@pytest.fixture(scope='session')
def pretrain_run(tmp_path_factory, sweep_data):
    """``run(config)``: the session's one sweep run of a pretraining config
    (shared by its own test and the benchmarks it feeds); returns the work
    dir, the run's output and the EMA updates seen."""
    def run(path):
        def train(folder):
            work = str(folder / 'work')
            config, opts = sweep.sweep_run(path, sweep_data, work)
            moves = []
            # a ViT-L run peaks near 10 GB: one at a time across the workers
            big = sweep.load(path).model.backbone.get('arch') == 'large'
            lock = FileLock(str(folder.parent / 'sweep_vit-large.lock')) \
                if big else contextlib.nullcontext()
            with lock, sweep_checks.watch_ema(moves):
                proc = run_tool(TRAIN, config, '--work-dir', work,
                                '--cfg-options', *opts)
            gc.collect()
            (folder / 'output.txt').write_text(proc.out)
            (folder / 'ema.json').write_text(json.dumps(moves))
            (folder / 'rc').write_text(str(proc.returncode))

        folder = once_per_session(tmp_path_factory,
                                  'sweep_' + osp.basename(path)[:-3], train)
        return dict(work=str(folder / 'work'),
                    out=(folder / 'output.txt').read_text(),
                    ema=json.loads((folder / 'ema.json').read_text()),
                    rc=int((folder / 'rc').read_text()))
    return run


def test_every_config_is_classified():
    """A new config is trained by the sweep, or named in NOT_TRAINED_HERE
    with the test that trains it; anything else fails here."""
    kinds = {sweep.rel(p): sweep.classify(p) for p in sweep.CONFIG_FILES}
    assert set(sweep.NOT_TRAINED_HERE) <= set(kinds), \
        'NOT_TRAINED_HERE names a file that is gone'
    for path in PRETRAIN:
        assert kinds[sweep.rel(path)] == 'pretrain', path
    for path in BENCHMARKS:
        assert kinds[sweep.rel(path)] == 'benchmark', path
    texts = [open(p).read() for p in TRAINED]
    for path in sweep.CONFIG_FILES:
        if kinds[sweep.rel(path)] == 'base':
            name = osp.basename(path)
            assert any(name in t for t in texts), \
                f'{sweep.rel(path)}: a base that no trained config inherits'
    assert len(PRETRAIN) >= 20 and len(BENCHMARKS) >= 3


@pytest.mark.parametrize('path', ALIASES, ids=ids(ALIASES))
def test_alias_config_is_its_target(path):
    """A short name (``configs/symmim_vit-l.py``) merges to exactly the
    config it names in its header, which the sweep trains; not trained
    twice."""
    target = sweep.alias_target(path)
    assert target in PRETRAIN + BENCHMARKS, f'{sweep.rel(path)}: {target}'
    header = open(path).read().split('_base_')[0]
    assert 'Alias' in header and sweep.rel(target) in header, header
    assert sweep.load(path).to_dict() == sweep.load(target).to_dict()


def check_losses(work_dir: str, terms) -> list:
    """Each of the 2 iterations logged every term, all finite."""
    rows = [r for r in sweep_checks.logged_scalars(work_dir) if 'loss' in r]
    assert [r['iter'] for r in rows] == list(range(1, sweep.ITERS + 1)), rows
    for row in rows:
        for term in terms:
            assert term in row, f'{term} not logged: {row}'
            assert math.isfinite(row[term]), row
    return rows


def check_loads(state: dict, benchmark: str) -> None:
    """The pretraining checkpoint's backbone has every key of the benchmark
    config's backbone, read with that config's own ``prefix``."""
    from mmpretrain.registry import MODELS
    backbone_cfg = sweep.load(benchmark).model.backbone.copy()
    prefix = backbone_cfg.pop('init_cfg').get('prefix')
    backbone = MODELS.build(backbone_cfg)
    state = sweep_checks.with_prefix(state, prefix)
    missing = sorted(set(backbone.state_dict()) - set(state))
    assert not missing, (f'{sweep.rel(benchmark)} misses {len(missing)} '
                         f'key(s) of the checkpoint under prefix {prefix!r}: '
                         f'{missing[:5]}')
    wrong = [k for k, v in backbone.state_dict().items()
             if state[k].shape != v.shape]
    assert not wrong, f'shape mismatch: {wrong[:5]}'


def available_gb() -> float:
    with open('/proc/meminfo') as f:
        info = dict(line.split(':', 1) for line in f)
    return int(info['MemAvailable'].split()[0]) / 2**20


# A ViT-L run peaks near 12 GB of host memory: weights, gradients, AdamW
# state and EMA copy (6 GB), and the checkpoint (4.8 GB), which mmengine's
# save_checkpoint holds twice in memory while saving (BytesIO + getvalue).
VIT_L_GB = 12


@pytest.mark.parametrize('path', PRETRAIN, ids=ids(PRETRAIN))
@pytest.mark.slow
def test_pretraining_config_trains(path, pretrain_run):
    if sweep.load(path).model.backbone.get('arch') == 'large' and \
            available_gb() < VIT_L_GB:
        pytest.skip(f'a ViT-L run needs about {VIT_L_GB} GB of free memory '
                    f'(the OOM killer would end this worker), '
                    f'{available_gb():.1f} GB available')
    run = pretrain_run(path)
    assert run['rc'] == 0, run['out'][-4000:]
    cfg = sweep.load(path)
    check_losses(run['work'], sweep.LOSS_TERMS[cfg.model.type])
    checkpoint = sweep_checks.last_checkpoint(run['work'])
    state = sweep_checks.state_dict(checkpoint)
    # the EMA encoder (if the model has one) moved at its last update
    if any(k.endswith('.steps') for k in state):
        assert [m['steps'] for m in run['ema']] == list(
            range(1, sweep.ITERS + 1)), run['ema']
        assert run['ema'][-1]['moved'], run['ema']
    else:
        assert run['ema'] == []
    # its backbone loads into every benchmark config of the same backbone
    key = sweep.backbone_key(cfg)
    for bench in BENCHMARKS:
        if sweep.backbone_key(sweep.load(bench)) == key:
            check_loads(state, bench)
    del state
    if path not in FEEDS:  # several GB for ViT-L: only what benchmarks read
        for ckpt in glob.glob(osp.join(run['work'], '*.pth')):
            os.remove(ckpt)


FEEDS = {sweep.pretrained_source(p) for p in BENCHMARKS}


@pytest.mark.parametrize('path', BENCHMARKS, ids=ids(BENCHMARKS))
@pytest.mark.slow
def test_benchmark_config_trains_from_its_pretraining(path, pretrain_run,
                                                      sweep_data, tmp_path):
    source = pretrain_run(sweep.pretrained_source(path))
    assert source['rc'] == 0, source['out'][-4000:]
    checkpoint = sweep_checks.last_checkpoint(source['work'])
    work = str(tmp_path / 'work')
    config, opts = sweep.sweep_run(path, sweep_data, work,
                                   checkpoint=checkpoint)
    proc = run_tool(TRAIN, config, '--work-dir', work, '--cfg-options', *opts)
    assert proc.returncode == 0, proc.out[-4000:]
    assert f'from path: {checkpoint}' in proc.out
    assert 'missing keys in source state_dict' not in proc.out, proc.out
    check_losses(work, ['loss'])
    val = [r for r in sweep_checks.logged_scalars(work)
           if 'accuracy/top1' in r]
    assert len(val) == 1 and math.isfinite(val[0]['accuracy/top1']), val
    if 'linear' in osp.basename(path):  # frozen: still the checkpoint's
        before = sweep_checks.state_dict(checkpoint)
        after = sweep_checks.state_dict(sweep_checks.last_checkpoint(work))
        backbone = {k: v for k, v in after.items()
                    if k.startswith('backbone.')}
        assert backbone
        changed = [k for k, v in backbone.items()
                   if k not in before or not torch.equal(v, before[k])]
        assert not changed, (
            f'{len(changed)} frozen backbone tensor(s), e.g. {changed[0]}, '
            f"differ from the pretraining checkpoint's: the probe did not "
            f"start from its backbone.* weights (init_cfg prefix?)")
    for ckpt in glob.glob(osp.join(work, '*.pth')):
        os.remove(ckpt)


# the launcher: one ImageNet-layout SymMIM config, one MixMask ResNet config
# with SyncBN (mmpretrain's MoCo v3 ResNet-50 recipe), 2 CPU processes
DIST = ['configs/symmim/symmim_vit-small-p16_16xb256-amp-coslr-600e_in1k.py',
        'configs/mixmask/mixmask-mocov3_resnet50_8xb512-amp-coslr-100e_in1k.py']


@pytest.mark.parametrize('path', DIST,
                         ids=[osp.basename(p)[:-3] for p in DIST])
@pytest.mark.slow
def test_config_trains_under_dist_train(path, sweep_data, tmp_path):
    path = osp.join(REPO, path)
    cfg = sweep.load(path)
    if 'resnet' in path:
        assert cfg.model.backbone.norm_cfg.type == 'SyncBN'
    work = str(tmp_path / 'work')
    config, opts = sweep.sweep_run(path, sweep_data, work, world=2)
    env = dict(os.environ, PYTHON=sys.executable, PORT=str(free_port()))
    proc = run(['bash', DIST_TRAIN, config, '2', '--work-dir', work,
                '--cfg-options', *opts], cwd=REPO, env=env, timeout=900)
    out = proc.out
    assert proc.returncode == 0, out[-4000:]
    assert 'Distributed training is not used' not in out
    check_losses(work, sweep.LOSS_TERMS[cfg.model.type])
    for ckpt in glob.glob(osp.join(work, '*.pth')):
        os.remove(ckpt)
