"""2 processes under torchrun (gloo, CPU) == 1 process on the global batch
(slow); the patches of mmsymmim/compat/cpu_distributed.py in a one-process
gloo group (fast)."""
import os.path as osp
import sys

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from mmengine.dist import init_dist
from mmengine.model.wrappers import MMDistributedDataParallel

from mmsymmim.models.utils import GlooSyncBatchNorm
from ..harness import free_port, once_per_session, run, run_tool, tiny_cfg

HERE = osp.dirname(osp.abspath(__file__))
WORKER = osp.join(HERE, 'dist_parity_worker.py')


@pytest.fixture(scope='module')
def single(tmp_path_factory):
    """The reference: one process (this one) on the whole batch."""
    out = tmp_path_factory.mktemp('one') / 'one.pth'
    proc = run_tool(WORKER, '--out', out)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return torch.load(out, weights_only=True)['forward']


@pytest.fixture(scope='module')
def ddp(tmp_path_factory):
    """One torchrun launch of 2 ranks, a fresh step for each chunk order
    (one per pytest run, whichever xdist worker comes first)."""
    def launch(folder):
        cmd = [sys.executable, '-m', 'torch.distributed.run',
               '--nproc_per_node=2', f'--master_port={free_port()}', WORKER,
               '--out', str(folder / 'ddp.pth'), '--orders', 'forward',
               'reverse']
        proc = run(cmd, timeout=300)
        assert proc.returncode == 0, proc.stderr[-4000:]

    folder = once_per_session(tmp_path_factory, 'ddp_parity', launch)
    return torch.load(folder / 'ddp.pth', weights_only=True)


@pytest.fixture
def one_rank_group(monkeypatch):
    """mmengine's ``init_dist('pytorch', backend='gloo')`` as torchrun's one
    rank would call it, in this process; the group and the start method it
    sets are undone after the test."""
    for key, value in dict(MASTER_ADDR='127.0.0.1', MASTER_PORT=free_port(),
                           RANK=0, LOCAL_RANK=0, WORLD_SIZE=1).items():
        monkeypatch.setenv(key, str(value))
    start_method = mp.get_start_method(allow_none=True)
    try:
        yield
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()
        mp.set_start_method(start_method, force=True)


@pytest.mark.skipif(torch.cuda.is_available(), reason='the CPU path')
def test_cpu_patches_in_a_one_rank_group(one_rank_group):
    """Without CUDA: nccl is refused with the fix named; gloo starts (no
    ``cuda.set_device``); a CPU model gets DDP with no device ids and its
    SyncBN layers become GlooSyncBatchNorm, which trains like BatchNorm on
    one rank."""
    with pytest.raises(RuntimeError, match='env_cfg.dist_cfg.backend=gloo'):
        init_dist('pytorch', backend='nccl')
    init_dist('pytorch', backend='gloo')
    assert dist.get_backend() == 'gloo' and dist.get_world_size() == 1
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 1),
                                torch.nn.SyncBatchNorm(4))
    plain = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 1),
                                torch.nn.BatchNorm2d(4))
    plain.load_state_dict(model.state_dict())
    wrapped = MMDistributedDataParallel(module=model)
    assert wrapped.device_ids is None
    assert type(model[1]) is GlooSyncBatchNorm
    x = torch.randn(4, 3, 5, 5)
    out = wrapped(x)
    out.square().mean().backward()
    ref = plain(x)
    ref.square().mean().backward()
    assert torch.allclose(out, ref, atol=1e-6)
    assert torch.allclose(model[1].running_mean, plain[1].running_mean)
    assert torch.allclose(model[0].weight.grad, plain[0].weight.grad,
                          atol=1e-6)


@pytest.mark.slow  # torchrun with 2 ranks
@pytest.mark.parametrize('order', ['forward', 'reverse'])
def test_two_ranks_match_one_process(single, ddp, order):
    ddp = ddp[order]
    # the same negatives: every key of the global batch, same values; one
    # gather per view order (the demo's symmetric=False: one)
    orders = 2 if tiny_cfg().model.symmetric else 1
    assert len(ddp['keys']) == len(single['keys']) == orders
    # (float32 sums in another order, here and below: each key row and each
    # tensor is compared by its norm, relative error <= 1e-4; keys are small,
    # |k| ~ 0.07, so an elementwise atol would measure summation order)
    for a, b in zip(ddp['keys'], single['keys']):
        assert a.shape == b.shape == (8, 128)
        rel = ((a - b).norm(dim=1) / b.norm(dim=1)).max().item()
        assert rel <= 1e-4, rel
    # the same step: online weights, EMA weights and BN statistics
    for k, v in single['state'].items():
        if v.dtype.is_floating_point:
            err = (ddp['state'][k] - v).norm().item()
            assert err <= 1e-4 * v.norm().item() + 1e-5, (k, err)
    moved = [k for k in single['state'] if k.startswith('backbone.layers')]
    assert moved
