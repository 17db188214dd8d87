import os.path as osp

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
