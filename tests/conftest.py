import os.path as osp

import pytest
import torch

import mmsymmim  # noqa: F401  registers modules
from mmsymmim.datasets.fashion_mnist import DEFAULT_ROOT, FILES
from .harness import (
    MASK_TOKEN_DEMO,
    SYMMIM_DEMO,
    once_per_session,
    run_train,
    tiny_arch,
)


@pytest.fixture(autouse=True)
def _mmpretrain_scope():
    """Build from mmpretrain's registries, whatever a previous test set; and
    leave torch's thread count as found (a tool's ``--threads`` called
    in-process would change the next tests' float sums)."""
    from mmengine.registry import init_default_scope
    init_default_scope('mmpretrain')
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


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
def tiny_symmim_run(request, tmp_path_factory, fmnist_root):
    """The session's one pretraining per SymMIM demo config (the mask-token
    path, then the visible-token path): two iterations of tools/train.py
    with the demo's hooks (k-NN report included) and ``tiny_arch(4)`` (4
    feature levels for the transfer tests). Returns ``(config, work dir,
    output)``; tests only read the work dir."""
    def pretrain(folder):
        out = run_train(folder / 'work', 2, config=request.param,
                        arch=tiny_arch(4)).out
        (folder / 'output.txt').write_text(out)

    name = 'pretrain_' + osp.basename(request.param)[:-3]
    folder = once_per_session(tmp_path_factory, name, pretrain)
    return request.param, folder / 'work', (folder / 'output.txt').read_text()


@pytest.fixture(scope='session')
def tiny_symmim_ckpt(tiny_symmim_run):
    """``iter_2.pth`` of ``tiny_symmim_run``: a trained checkpoint."""
    return str(tiny_symmim_run[1] / 'iter_2.pth')
