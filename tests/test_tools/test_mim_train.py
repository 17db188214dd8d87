"""`mim train mmsymmim ...`: OpenMMLab's launcher finds the package's
training script and configs (``mmsymmim/.mim``, made by setup.py)."""
import os.path as osp
import sys

import pytest

import mmsymmim
from ..harness import MASK_TOKEN_DEMO, free_port, run, tiny_options

# processes of their own (mim, torch.distributed.launch with 2 ranks)
pytestmark = pytest.mark.slow

MIM = osp.join(osp.dirname(sys.executable), 'mim')
PKG = osp.dirname(mmsymmim.__file__)


def mim_train(tmp_path, *launch, config=MASK_TOKEN_DEMO, options=()):
    work = tmp_path / 'work'
    proc = run([
        MIM, 'train', 'mmsymmim', config, *launch, '--work-dir',
        str(work), '--cfg-options', *tiny_options(), 'custom_hooks=[]',
        *options
    ], cwd=tmp_path, timeout=600)
    assert proc.returncode == 0, proc.out[-4000:]
    assert (work / 'iter_2.pth').is_file()
    return proc


@pytest.fixture(scope='module')
def mim_ready():
    assert osp.isfile(MIM), 'openmim missing: run tools/setup.sh'
    for name in ('tools/train.py', 'configs/symmim'):
        assert osp.exists(osp.join(PKG, '.mim', name)), (
            f'{PKG}/.mim/{name} missing: re-install with tools/setup.sh')


def test_mim_train_by_config_name(mim_ready, fmnist_root, tmp_path):
    # run outside the repo with the bare file name: mim looks it up in the
    # package's configs, then runs the package's tools/train.py
    out = mim_train(tmp_path, config=osp.basename(MASK_TOKEN_DEMO)).out
    assert "we find the config file in codebase mmsymmim" in out
    assert osp.join('.mim', 'tools', 'train.py') in out
    assert 'loss_mim' in out


def test_mim_train_pytorch_launcher(mim_ready, fmnist_root, tmp_path):
    # two CPU processes (gloo), as `--gpus 2 --launcher pytorch` starts them
    out = mim_train(tmp_path, '--gpus', '2', '--launcher', 'pytorch',
                    '--port', str(free_port()),
                    options=['train_dataloader.batch_size=8']).out
    assert '-m torch.distributed.launch --nproc_per_node=2' in out
    assert 'Distributed launcher: pytorch' in out and 'GPU number: 2' in out
    assert 'loss_mim' in out
