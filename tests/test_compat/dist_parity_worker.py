"""One SymMIM step on a fixed batch, in 1 process or under torchrun (gloo).

Run by tests/test_compat/test_cpu_distributed.py; writes, for each order of
the batch's chunks over the ranks it is asked for, the updated weights and the
contrastive keys the head gathered, in global sample order.
"""
import argparse
import os
import sys

import torch

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
sys.path.insert(0, REPO)
ORDERS = ('forward', 'reverse')  # reverse: rank r takes chunk world-1-r


def one_step(reverse: bool, rank: int, world: int) -> dict:
    """A fresh model (seed 0), one SGD step on the fixed batch."""
    from mmengine.optim import OptimWrapper

    import mmsymmim.models.heads.fast_mocov3_head as head_mod
    from mmpretrain.structures import DataSample
    from mmsymmim.datasets.transforms import SymmetricMaskGenerator
    from tests.harness import build_model, tiny_cfg
    cfg = tiny_cfg()
    model = build_model(cfg)

    B = 8
    g = torch.Generator().manual_seed(1)
    v1 = torch.rand(B, 3, 32, 32, generator=g) * 255
    v2 = torch.rand(B, 3, 32, 32, generator=g) * 255
    torch.manual_seed(2)
    mask, ema = SymmetricMaskGenerator(
        input_size=32, model_patch_size=4).draw(B, 2)
    chunk = (world - 1 - rank) if reverse else rank
    idx = torch.arange(B).chunk(world)[chunk]
    samples = []
    for i in idx.tolist():
        ds = DataSample()
        ds.set_field(mask[i], 'mask')
        ds.set_field(ema[i], 'ema_mask')
        samples.append(ds)

    gathered = []
    real_gather = head_mod.all_gather

    def recording_gather(t):
        out = real_gather(t)
        gathered.append(torch.cat(out).detach().clone())
        return out

    head_mod.all_gather = recording_gather
    try:
        if world > 1:
            from mmengine.model import MMDistributedDataParallel
            model = MMDistributedDataParallel(module=model)
        optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.5))
        model.train_step(dict(inputs=[v1[idx], v2[idx]],
                              data_samples=samples), optim)
    finally:
        head_mod.all_gather = real_gather

    # gathered keys are in rank order: map rows back to global sample order
    order = torch.cat([torch.arange(B).chunk(world)[
        (world - 1 - r) if reverse else r] for r in range(world)])
    keys = [k[torch.argsort(order)] for k in gathered]
    net = model.module if world > 1 else model
    return dict(state=net.state_dict(), keys=keys)


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--out', required=True)
    p.add_argument('--orders', nargs='+', choices=ORDERS, default=['forward'],
                   help='chunk orders to run, one fresh step each')
    args = p.parse_args()
    from mmengine.dist import get_rank, get_world_size, init_dist
    from mmengine.logging import MessageHub
    from mmengine.registry import init_default_scope

    import mmsymmim  # noqa: F401
    if 'RANK' in os.environ:
        init_dist('pytorch', backend='gloo')
    rank, world = get_rank(), get_world_size()
    init_default_scope('mmpretrain')
    # the EMA's cosine momentum reads max_iters from the current hub
    MessageHub.get_instance('dist_parity').update_info('max_iters', 100)
    results = {o: one_step(o == 'reverse', rank, world) for o in args.orders}
    if rank == 0:
        torch.save(results, args.out)


if __name__ == '__main__':
    main()
