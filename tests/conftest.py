import os.path as osp
import subprocess
import sys

import pytest

import mmsymmim  # noqa: F401  registers modules
from mmsymmim.datasets.fashion_mnist import DEFAULT_ROOT, FILES

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


@pytest.fixture(autouse=True)
def _mmpretrain_scope():
    """Build from mmpretrain's registries, whatever a previous test set."""
    from mmengine.registry import init_default_scope
    init_default_scope('mmpretrain')


@pytest.fixture(scope='session')
def fmnist_root():
    """Debian's Fashion-MNIST (installed by tools/setup.sh)."""
    paths = [osp.join(DEFAULT_ROOT, f) for f in FILES['train'] + FILES['test']]
    missing = [p for p in paths if not osp.isfile(p)]
    assert not missing, (f'{missing[0]} missing: run tools/setup.sh '
                         '(apt-get install dataset-fashion-mnist)')
    return DEFAULT_ROOT


# A 4-layer, 64-wide SymMIM ViT (patch 4, 32 px) for transfer / export tests.
TINY_ARCH = dict(
    embed_dims=64, num_layers=4, num_heads=2, feedforward_channels=128)


@pytest.fixture(scope='session')
def tiny_symmim_ckpt(tmp_path_factory, fmnist_root):
    """Checkpoint of the demo config with TINY_ARCH after two iterations,
    written by tools/train.py as a user would."""
    work = tmp_path_factory.mktemp('pretrain')
    arch = [f'model.backbone.arch.{k}={v}' for k, v in TINY_ARCH.items()]
    cmd = [
        sys.executable,
        osp.join(REPO, 'tools/train.py'),
        osp.join(REPO, 'configs/demo/symmim_vit-tiny_fmnist.py'), '--work-dir',
        str(work), '--cfg-options', *arch,
        f'model.neck.in_channels={TINY_ARCH["embed_dims"]}',
        f'model.mim_neck.in_channels={TINY_ARCH["embed_dims"]}',
        'train_dataloader.batch_size=8', 'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False', 'custom_hooks=[]',
        'train_cfg.max_iters=2', 'default_hooks.checkpoint.interval=2',
        'param_scheduler.0.end=1', 'param_scheduler.1.begin=1',
        'param_scheduler.1.end=2', 'param_scheduler.1.T_max=1'
    ]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return str(work / 'iter_2.pth')
