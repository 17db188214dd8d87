"""The four steps of tools/analysis_tools/gpu_check.py, one per process.

    python tools/analysis_tools/gpu_check_steps.py a --part a.json \
        [--device cpu --tiny]

Each step appends its rows to the ``--part`` JSON as they finish (a step cut
by its time limit keeps what it measured): a) throughput of five ViT-B rows,
b) every pretraining config 2 iterations, c) the device augmentation's share
of a SymMIM step and the loader's img/s per worker, d) ``torch.compile``.
"""
import argparse
import gc
import json
import math
import os
import os.path as osp
import statistics
import sys
import tempfile
import time

import numpy as np
import torch

HERE = osp.dirname(osp.abspath(__file__))
REPO = osp.dirname(osp.dirname(HERE))
sys.path[:0] = [HERE, REPO]  # the benchmarks beside; tests.config_sweep
THROUGHPUT_ROWS = ('symmim_vit-b', 'symmim_vit-b-sym',
                   'symmim_vit-b-mask-token', 'mocov3_vit-b', 'mae_vit-b')


class Part:
    """A step's results file, rewritten (atomically) after every row."""

    def __init__(self, path):
        self.path, self.data = path, dict(rows=[], notes={})

    def add(self, row):
        self.data['rows'].append(row)
        self.save()

    def note(self, key, value):
        self.data['notes'][key] = value
        self.save()

    def save(self):
        def clean(v):  # NaN is not JSON
            return None if isinstance(v, float) and not math.isfinite(v) else v
        self.data['rows'] = [{k: clean(v) for k, v in r.items()}
                             for r in self.data['rows']]
        with open(self.path + '.tmp', 'w') as f:
            json.dump(self.data, f, indent=1, default=str)
        os.replace(self.path + '.tmp', self.path)


def sync(device):
    if device.type == 'cuda':
        torch.cuda.synchronize()


def free(device):
    gc.collect()
    if device.type == 'cuda':
        torch.cuda.empty_cache()


def bench_args(device, tiny, **kw):
    """benchmark_throughput's options: GPU bf16 (AmpOptimWrapper) + fused
    AdamW at batch 128 (docs/benchmarks.md's command); CPU fp32, tiny."""
    gpu = device.type == 'cuda'
    return argparse.Namespace(**{**dict(
        smoke=tiny, batch=8 if tiny else 128, bf16=gpu, fused_adamw=gpu,
        compile=False, channels_last=False, warmup=1 if tiny else 5,
        steps=2 if tiny else 10, repeats=2 if tiny else 3), **kw})


def step_a(part, device, tiny, opts):
    import benchmark_throughput as bt
    args = bench_args(device, tiny)
    ceiling = bt.matmul_ceiling(device)
    part.note('setting', f'batch {args.batch}, bf16={args.bf16}, fused AdamW='
              f'{args.fused_adamw}, warm-up {args.warmup}, median of '
              f'{args.repeats} x {args.steps} steps, tiny={tiny}')
    part.note('matmul ceiling (TFLOP/s)',
              round(ceiling, 2 if device.type == 'cuda' else 4))
    for name in THROUGHPUT_ROWS:
        r = bt.bench_one(name, args, device, ceiling)
        part.add(dict(model=name, img_s=r['img_s'], ms_step=r['ms'],
                      peak_gib=r['peak'], gflop_img=r['gflop'],
                      frac_ceiling=r['frac']))
        free(device)


# --- c) device augmentation and the loader -----------------------------------
def write_jpegs(folder, n):
    """ImageNet-sized (500x375) smooth random JPEGs."""
    import cv2
    rng = np.random.default_rng(0)
    paths = []
    for i in range(n):
        img = cv2.resize(rng.integers(0, 256, (12, 16, 3), np.uint8),
                         (500, 375), interpolation=cv2.INTER_CUBIC)
        paths.append(osp.join(folder, f'{i}.JPEG'))
        cv2.imwrite(paths[-1], img, [cv2.IMWRITE_JPEG_QUALITY, 90])
    return paths


def step_c(part, device, tiny, opts):
    import benchmark_pipeline as bp
    import benchmark_throughput as bt
    from mmpretrain.registry import BATCH_AUGMENTS
    args = bench_args(device, tiny)
    step = {}
    for name in ('symmim_vit-b', 'symmim_vit-b-device-aug'):
        r = bt.bench_one(name, args, device, float('nan'))
        step[name] = r
        part.add(dict(what=f'{name} step, batch {args.batch}',
                      ms=r['ms'], img_s=r['img_s']))
        free(device)
    cfg = bt.load_cfg('symmim_vit-b-device-aug', tiny)
    aug = BATCH_AUGMENTS.build(cfg.data_preprocessor.view_aug).to(device)
    size = 32 if tiny else 224
    views = [torch.randint(0, 256, (args.batch, 3, size, size),
                           dtype=torch.uint8).to(device) for _ in aug.views]
    with torch.autocast(device.type, torch.bfloat16, enabled=args.bf16):
        def run():
            return aug([v.float() for v in views])
        run()
        secs = statistics.median(bt.timer(device, run, args.steps)
                                 for _ in range(args.repeats))
    full = step['symmim_vit-b-device-aug']['ms']
    part.add(dict(what=f'DeviceViewAugment alone, {args.batch} x '
                  f'{len(views)} views at {size} px', ms=secs * 1e3,
                  share_of_step=secs * 1e3 / full))
    part.add(dict(what='device-aug step minus plain step', ms=full - step[
        'symmim_vit-b']['ms'], share_of_step=1 - step['symmim_vit-b']['ms'] /
        full))
    need = dict(cpu=step['symmim_vit-b']['img_s'],
                device=step['symmim_vit-b-device-aug']['img_s'])
    loader(part, bp, need, tiny, opts.workers)


class Images(torch.utils.data.Dataset):
    """The pipeline over JPEG paths, as a loader's dataset."""

    def __init__(self, paths, pipeline):
        self.paths, self.pipeline = paths, pipeline

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, i):
        return self.pipeline(dict(img_path=self.paths[i]))


def one_thread(_):
    torch.set_num_threads(1)


def loader(part, bp, need, tiny, workers):
    """One worker (1 thread) per pipeline; then a DataLoader with
    ``workers`` processes over the device-aug pipeline. ``need``: the img/s
    of the step each pipeline feeds."""
    from collections import defaultdict

    from mmengine.config import Config
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as folder:
        paths = write_jpegs(folder, 16 if tiny else 200)
        for kind, cfg_file in (('cpu', bp.CPU_CFG), ('device', bp.DEVICE_CFG)):
            cfg = Config.fromfile(osp.join(REPO, cfg_file))
            clock = defaultdict(float)
            pipe = bp.instrumented(cfg.train_dataloader.dataset.pipeline,
                                   clock)
            pipe(dict(img_path=paths[0]))
            secs = statistics.median(bp.time_worker(pipe, clock, paths)[0]
                                     for _ in range(2))
            part.add(dict(what=f'loader, 1 worker, {kind} pipeline '
                          f'({osp.basename(cfg_file)})', img_s=1 / secs,
                          workers_for_step=need[kind] * secs))
        dl = torch.utils.data.DataLoader(
            Images(paths * (2 if tiny else 6), pipe), batch_size=16,
            num_workers=workers, collate_fn=len, worker_init_fn=one_thread)
        batches = iter(dl)
        next(batches)  # workers started
        t0 = time.perf_counter()
        n = sum(batches)
        secs = time.perf_counter() - t0
        part.add(dict(what=f'DataLoader, {workers} workers, device pipeline',
                      img_s=n / secs, img_s_per_worker=n / secs / workers,
                      workers_for_step=need['device'] / (n / secs /
                                                         workers)))
    part.note('the step needs (img/s)', ', '.join(
        f'{k} pipeline {v:.1f}' for k, v in need.items()))
    torch.set_num_threads(threads)


# --- d) torch.compile --------------------------------------------------------
def step_d(part, device, tiny, opts):
    import benchmark_throughput as bt
    name, args = 'symmim_vit-b', bench_args(device, tiny)
    part.note('setting', f'batch {args.batch}, bf16={args.bf16}, warm-up '
              f'{args.warmup} steps after the first, median of '
              f'{args.repeats} x {args.steps} steps; tiny={tiny}')
    for compiled in (False, True):
        args = bench_args(device, tiny, compile=compiled,
                          compile_backend=opts.compile_backend)
        step = bt.build(name, args, device)
        t0 = time.perf_counter()
        step()
        sync(device)
        first = time.perf_counter() - t0
        for _ in range(args.warmup):
            step()
        secs = statistics.median(bt.timer(device, step, args.steps)
                                 for _ in range(args.repeats))
        part.add(dict(model=name, compile=(opts.compile_backend if compiled
                                           else 'eager'),
                      first_step_s=first, ms_step=secs * 1e3,
                      img_s=args.batch / secs))
        del step
        free(device)


def step_b(part, device, tiny, opts):
    from gpu_check_configs import step_b as run
    run(part, device, tiny, opts)


STEPS = dict(a=step_a, b=step_b, c=step_c, d=step_d)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('step', choices=sorted(STEPS))
    p.add_argument('--part', required=True)
    p.add_argument('--device', default='cuda')
    p.add_argument('--tiny', action='store_true')
    p.add_argument('--workers', type=int, default=8)
    p.add_argument('--compile-backend', default='inductor')
    p.add_argument('--all-configs', action='store_true',
                   help='tiny: every config, not one per feature')
    opts = p.parse_args(argv)
    device = torch.device(opts.device)
    from mmengine.registry import init_default_scope

    import mmsymmim  # noqa: F401
    init_default_scope('mmpretrain')
    part = Part(opts.part)
    part.save()
    STEPS[opts.step](part, device, opts.tiny, opts)


if __name__ == '__main__':
    main()
