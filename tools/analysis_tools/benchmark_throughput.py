"""Training-step throughput of SymMIM against mmpretrain's own peers.

Builds every model from its real config (SymMIM ViT-B/L from configs/: the
default visible-token encoders, SimMIM-style mask-token encoders, one view per
encoder (``symmetric=False``), masks drawn on the device; MoCoV3 ViT-B, MAE
ViT-B and SimMIM Swin-B from mmpretrain's package configs),
feeds each a synthetic batch shaped as its pipeline produces (two 224-px
views and masks for SymMIM / MoCo v3, one view for MAE, 192 px + mask for
SimMIM), and times the model step only (data preprocessor, forward + loss,
backward, optimizer step) in one process: warm-up, then the median of
repeats, timed with device events on GPU. FLOPs per image come from
torch.utils.flop_counter over one step; the ceiling is a bf16 (GPU) or fp32
(CPU) matmul measured in the same run.

    # GPU, the real numbers (bf16 autocast through AmpOptimWrapper)
    python tools/analysis_tools/benchmark_throughput.py --device cuda \
        --batch 128 --bf16 --fused-adamw
    # CPU smoke mode (tiny models, 32-64 px): checks the harness end to end
    python tools/analysis_tools/benchmark_throughput.py --smoke
"""
import argparse
import copy
import os.path as osp
import statistics
import sys
import time

import torch
from mmengine.config import Config
from mmengine.hub import get_config
from mmengine.logging import MessageHub
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SYMMIM_B = osp.join(
    REPO, 'configs/symmim/symmim_vit-base-p16_16xb256-amp-coslr-600e_in1k.py')
# row: (config, model fields changed for that row)
MODELS_CFG = {
    'symmim_vit-b': (SYMMIM_B, {}),
    # both view orders a step (MoCo v3's loss; the default before the
    # equal-FLOP study chose symmetric=False)
    'symmim_vit-b-sym': (SYMMIM_B, dict(symmetric=True)),
    'symmim_vit-b-device-masks': (SYMMIM_B, dict(mask_generator=dict(
        type='SymmetricMaskGenerator', input_size=224, model_patch_size=16,
        scale=1, ema_scale=2))),
    # the same model; the loader only crops, DeviceViewAugment in the step
    'symmim_vit-b-device-aug': (osp.join(
        REPO, 'configs/symmim/'
        'symmim_vit-base-p16_device-aug_16xb256-amp-coslr-600e_in1k.py'), {}),
    'symmim_vit-b-mask-token': (osp.join(
        REPO, 'configs/symmim/'
        'symmim_vit-base-p16_mask-token_16xb256-amp-coslr-600e_in1k.py'), {}),
    'symmim_vit-l': (osp.join(
        REPO, 'configs/symmim/'
        'symmim_vit-large-p16_64xb64-amp-coslr-600e_in1k.py'), {}),
    'mocov3_vit-b': ('mmpretrain::mocov3/'
                     'mocov3_vit-base-p16_16xb256-amp-coslr-300e_in1k.py', {}),
    'mae_vit-b': ('mmpretrain::mae/'
                  'mae_vit-base-p16_8xb512-amp-coslr-300e_in1k.py', {}),
    'simmim_swin-b': ('mmpretrain::simmim/'
                      'simmim_swin-base-w6_8xb256-amp-coslr-100e_in1k-192px.py',
                      {}),
}
TINY_VIT = dict(embed_dims=64, num_layers=2, num_heads=2,
                feedforward_channels=128)


def load_cfg(name: str, smoke: bool) -> Config:
    path, changes = MODELS_CFG[name]
    cfg = get_config(path) if path.startswith('mmpretrain::') else \
        Config.fromfile(path)
    model = cfg.model
    model.update(copy.deepcopy(changes))
    if smoke:
        if 'swin' in name:
            model.backbone.arch = dict(embed_dims=16, depths=[1, 1, 1, 1],
                                       num_heads=[1, 1, 2, 2])
            model.backbone.img_size = 64
            model.backbone.stage_cfgs = dict(block_cfgs=dict(window_size=2))
            model.neck.in_channels = 16 * 8
        else:
            model.backbone.arch = TINY_VIT
            model.backbone.img_size = 32
            model.backbone.patch_size = 4
            if 'neck' in model and 'in_channels' in model.neck:
                model.neck.update(in_channels=64, hid_channels=128,
                                  out_channels=32)
            if model.get('head', {}).get('predictor'):
                model.head.predictor.update(in_channels=32, hid_channels=128,
                                            out_channels=32)
            if model.get('mim_neck', {}).get('type') == 'SymMIMDecoder':
                model.mim_neck.update(embed_dim=64, decoder_embed_dim=32,
                                      decoder_num_heads=2, patch_size=4,
                                      num_patches=64)
                model.mim_head.patch_size = 4
            elif 'mim_neck' in model:
                model.mim_neck.in_channels = 64
                model.mim_neck.encoder_stride = 4
                model.mim_head.patch_size = 4
            if 'mask_generator' in model:
                model.mask_generator.update(input_size=32, model_patch_size=4)
            if name.startswith('mae'):
                model.neck.update(embed_dim=64, decoder_embed_dim=32,
                                  decoder_depth=1, decoder_num_heads=2,
                                  patch_size=4, num_patches=64)
                model.head.patch_size = 4
    return cfg


def make_batch(name: str, cfg: Config, batch: int, smoke: bool, device):
    """Synthetic inputs and data samples as the model's pipeline makes."""
    from mmpretrain.structures import DataSample
    from mmsymmim.datasets.transforms import SymmetricMaskGenerator
    size = (64 if 'swin' in name else 32) if smoke else (
        192 if 'swin' in name else 224)
    g = torch.Generator().manual_seed(0)

    def img():
        return (torch.rand(batch, 3, size, size, generator=g) * 255).to(device)

    samples = [DataSample() for _ in range(batch)]
    if name.startswith('symmim'):
        patch = cfg.model.backbone.patch_size
        if 'mask_generator' not in cfg.model:
            gen = SymmetricMaskGenerator(input_size=size,
                                         model_patch_size=patch)
            mask, ema = gen.draw(batch, 2, device)
            for s, m, e in zip(samples, mask, ema):
                s.set_field(m, 'mask')
                s.set_field(e, 'ema_mask')
        return dict(inputs=[img(), img()], data_samples=samples)
    if name.startswith('mocov3'):
        return dict(inputs=[img(), img()], data_samples=samples)
    if name.startswith('simmim'):
        grid = size // 4
        cells = torch.rand(batch, grid // 8, grid // 8, generator=g) < 0.6
        mask = cells.repeat_interleave(8, 1).repeat_interleave(8, 2)
        for s, m in zip(samples, mask.to(device)):
            s.set_mask(m.long())
        return dict(inputs=img(), data_samples=samples)
    return dict(inputs=img(), data_samples=samples)  # MAE


def matmul_ceiling(device) -> float:
    """Measured dense matmul TFLOP/s (bf16 on GPU, fp32 on CPU)."""
    n, dtype = (8192, torch.bfloat16) if device.type == 'cuda' else (
        1024, torch.float32)
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    times = []
    for _ in range(5):
        t = timer(device, lambda: a @ b, 3)
        times.append(t)
    return 2 * n**3 / statistics.median(times) / 1e12


def timer(device, fn, steps: int) -> float:
    """Seconds per call of ``fn`` over ``steps`` calls."""
    if device.type == 'cuda':
        start = torch.cuda.Event(enable_timing=True)
        end = torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(steps):
            fn()
        end.record()
        torch.cuda.synchronize()
        return start.elapsed_time(end) / 1e3 / steps
    t0 = time.perf_counter()
    for _ in range(steps):
        fn()
    return (time.perf_counter() - t0) / steps


def compile_backbones(model, backend='inductor') -> int:
    """``torch.compile`` the ``forward`` (and SymMIM's ``forward_visible``,
    which the visible-token path calls) of the backbone and of its EMA copy,
    in place; returns how many modules were compiled."""
    found = [m for m in model.modules() if type(m) is type(model.backbone)]
    for m in found:
        for fn in ('forward', 'forward_visible'):
            if hasattr(m, fn):
                setattr(m, fn, torch.compile(getattr(m, fn), backend=backend))
    return len(found)


def build(name, args, device):
    """Model, optimiser wrapper and a fixed batch for one row; returns the
    row's ``step`` function."""
    import mmsymmim  # noqa: F401
    from mmpretrain.registry import MODELS
    init_default_scope('mmpretrain')
    cfg = load_cfg(name, args.smoke)
    if cfg.get('data_preprocessor') and 'data_preprocessor' not in cfg.model:
        cfg.model.data_preprocessor = cfg.data_preprocessor  # as the Runner
    torch.manual_seed(0)
    model = MODELS.build(cfg.model).to(device)
    model.init_weights()
    model.train()
    if args.channels_last:
        model = model.to(memory_format=torch.channels_last)
    if args.compile:
        compile_backbones(model, getattr(args, 'compile_backend', 'inductor'))
    optim = copy.deepcopy(cfg.optim_wrapper)
    optim.pop('paramwise_cfg', None)  # groups do not change the step time
    optim.type = 'AmpOptimWrapper' if args.bf16 else 'OptimWrapper'
    optim.pop('loss_scale', None)
    if args.bf16:
        optim.dtype = 'bfloat16'
    if args.fused_adamw and optim.optimizer.type == 'AdamW':
        optim.optimizer.fused = True
    wrapper = build_optim_wrapper(model, optim)
    data = make_batch(name, cfg, args.batch, args.smoke, device)
    MessageHub.get_current_instance().update_info('max_iters', 10000)
    return lambda: model.train_step(data, wrapper)


def gflop_per_image(step, batch: int) -> float:
    from torch.utils.flop_counter import FlopCounterMode
    counter = FlopCounterMode(display=False)
    with counter:
        step()
    return counter.get_total_flops() / batch / 1e9


def bench_one(name, args, device, ceiling):
    """One row alone (GPU: rows are built and freed one at a time)."""
    step = build(name, args, device)
    for _ in range(args.warmup):
        step()
    if device.type == 'cuda':
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    secs = statistics.median(
        timer(device, step, args.steps) for _ in range(args.repeats))
    peak = (torch.cuda.max_memory_allocated() / 2**30
            if device.type == 'cuda' else float('nan'))
    return row(name, args, secs, peak, gflop_per_image(step, args.batch),
               ceiling)


def bench_interleaved(names, args, device, ceiling):
    """CPU: build every row, then time them in turns (A B C A B C ...) so a
    busy machine slows all rows alike; the median per row is kept."""
    steps = {n: build(n, args, device) for n in names}
    for n in names:
        for _ in range(args.warmup):
            steps[n]()
    times = {n: [] for n in names}
    for _ in range(args.repeats):
        for n in names:
            times[n].append(timer(device, steps[n], args.steps))
    return [row(n, args, statistics.median(times[n]), float('nan'),
                gflop_per_image(steps[n], args.batch), ceiling)
            for n in names]


def row(name, args, secs, peak, gflop, ceiling):
    achieved = gflop * 1e9 * args.batch / secs / 1e12
    return dict(model=name, img_s=args.batch / secs, ms=secs * 1e3,
                peak=peak, gflop=gflop, frac=achieved / ceiling)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--models', nargs='+', default=list(MODELS_CFG),
                   choices=list(MODELS_CFG))
    p.add_argument('--device', default='cuda' if torch.cuda.is_available()
                   else 'cpu')
    p.add_argument('--batch', type=int, default=128)
    p.add_argument('--smoke', action='store_true',
                   help='tiny models, CPU-sized; checks the harness')
    p.add_argument('--bf16', action='store_true',
                   help='bf16 autocast via AmpOptimWrapper (GPU)')
    p.add_argument('--fused-adamw', action='store_true')
    p.add_argument('--compile', action='store_true',
                   help='torch.compile the backbones')
    p.add_argument('--channels-last', action='store_true')
    p.add_argument('--warmup', type=int, default=5)
    p.add_argument('--steps', type=int, default=10)
    p.add_argument('--repeats', type=int, default=3)
    p.add_argument('--out', help='also write the table (markdown) here')
    args = p.parse_args(argv)
    if args.smoke:
        args.batch = min(args.batch, 8)
        args.warmup, args.steps, args.repeats = 1, 2, 2
    device = torch.device(args.device)
    ceiling = matmul_ceiling(device)
    if device.type == 'cuda':
        rows = [bench_one(n, args, device, ceiling) for n in args.models]
    else:
        rows = bench_interleaved(args.models, args, device, ceiling)
    base = next((r for r in rows if r['model'] == 'mocov3_vit-b'), None)
    dev_name = (torch.cuda.get_device_name()
                if device.type == 'cuda' else 'cpu')
    head = (f'device: {dev_name}, torch {torch.__version__}, '
            f'batch {args.batch}, '
            f'bf16={args.bf16}, fused_adamw={args.fused_adamw}, '
            f'compile={args.compile}, smoke={args.smoke}, matmul ceiling '
            f'{ceiling:.2f} TFLOP/s')
    lines = [head, '', '| model | img/s | ms/step | peak GiB | GFLOP/img | '
             'img/s x MoCoV3 | GFLOP x MoCoV3 | frac. of ceiling |',
             '|---|---|---|---|---|---|---|---|']
    for r in rows:
        ratio = r['img_s'] / base['img_s'] if base else float('nan')
        fl = r['gflop'] / base['gflop'] if base else float('nan')
        lines.append(f'| {r["model"]} | {r["img_s"]:.1f} | {r["ms"]:.1f} | '
                     f'{r["peak"]:.2f} | {r["gflop"]:.2f} | {ratio:.2f} | '
                     f'{fl:.2f} | {r["frac"]:.3f} |')
    table = '\n'.join(lines)
    print(table)
    if args.out:
        with open(args.out, 'w') as f:
            f.write(table + '\n')
    return rows


if __name__ == '__main__':
    sys.exit(0 if main() else 1)
