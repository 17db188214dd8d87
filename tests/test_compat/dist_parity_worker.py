"""One SymMIM step on a fixed batch, in 1 process or under torchrun (gloo).

Run by tests/test_compat/test_cpu_distributed.py; writes the updated weights and
the contrastive keys the head gathered, in global sample order.
"""
import argparse
import os
import sys

import torch

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
sys.path.insert(0, REPO)


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--out', required=True)
    p.add_argument('--reverse', action='store_true',
                   help='rank r takes chunk world-1-r of the batch')
    args = p.parse_args()
    from mmengine.dist import get_rank, get_world_size, init_dist
    from mmengine.logging import MessageHub
    from mmengine.optim import OptimWrapper
    from mmengine.registry import init_default_scope

    import mmsymmim  # noqa: F401
    from tests.harness import build_model, tiny_cfg
    import mmsymmim.models.heads.fast_mocov3_head as head_mod
    from mmpretrain.structures import DataSample
    from mmsymmim.datasets.transforms import SymmetricMaskGenerator
    if 'RANK' in os.environ:
        init_dist('pytorch', backend='gloo')
    rank, world = get_rank(), get_world_size()
    init_default_scope('mmpretrain')
    MessageHub.get_current_instance().update_info('max_iters', 100)

    cfg = tiny_cfg()
    model = build_model(cfg)

    B = 8
    g = torch.Generator().manual_seed(1)
    v1 = torch.rand(B, 3, 32, 32, generator=g) * 255
    v2 = torch.rand(B, 3, 32, 32, generator=g) * 255
    torch.manual_seed(2)
    mask, ema = SymmetricMaskGenerator(
        input_size=32, model_patch_size=4).draw(B, 2)
    chunk = (world - 1 - rank) if args.reverse else rank
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
    if world > 1:
        from mmengine.model import MMDistributedDataParallel
        model = MMDistributedDataParallel(module=model)
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.5))
    model.train_step(dict(inputs=[v1[idx], v2[idx]], data_samples=samples),
                     optim)

    # gathered keys are in rank order: map rows back to global sample order
    order = torch.cat([torch.arange(B).chunk(world)[
        (world - 1 - r) if args.reverse else r] for r in range(world)])
    keys = [k[torch.argsort(order)] for k in gathered]
    net = model.module if world > 1 else model
    if rank == 0:
        torch.save(dict(state=net.state_dict(), keys=keys), args.out)


if __name__ == '__main__':
    main()
