import os.path as osp

import pytest

import mmsymmim  # noqa: F401  registers modules
from mmsymmim.datasets.fashion_mnist import DEFAULT_ROOT, FILES
from .harness import MASK_TOKEN_DEMO, SYMMIM_DEMO, run_train, tiny_arch


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


@pytest.fixture(scope='session', params=[MASK_TOKEN_DEMO, SYMMIM_DEMO],
                ids=['mask_token', 'visible'])
def tiny_symmim_ckpt(request, tmp_path_factory, fmnist_root):
    """Checkpoint of a SymMIM demo config (the mask-token path, then the
    visible-token path) with ``tiny_arch(4)`` (4 feature levels for the
    transfer tests) after two iterations of tools/train.py."""
    work = tmp_path_factory.mktemp('pretrain')
    run_train(work, 2, config=request.param, arch=tiny_arch(4),
              options=['custom_hooks=[]'])
    return str(work / 'iter_2.pth')
