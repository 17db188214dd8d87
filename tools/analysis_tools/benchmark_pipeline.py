"""Loader-worker cost of the SymMIM ImageNet pipelines, CPU vs device aug.

One process, one thread (a loader worker), JPEGs shaped like ImageNet's
(500x375, Fashion-MNIST images upscaled plus colour noise; decode and crop
cost depend on the size, not the content). Two pipelines, timed in turns
(A B A B ...) so a busy machine slows both alike:

* ``cpu``: the train pipeline of ``--config`` (decode, two MoCo v3 views with
  crop, colour jitter, grey, blur, solarize, flip, masks, packing);
* ``device``: the train pipeline of ``--device-config`` (decode, crop per
  view, masks, packing uint8); the rest runs in ``DeviceViewAugment``.

Each worker's time is split into decode, crop (``RandomResizedCrop``), the
photometric ops, masks + packing, and the rest (``MultiView``'s copies of the
decoded image). Then the device augmentation itself is timed on a batch of
``--batch`` images (both views) at 224 px on ``--aug-device``, and the mask
generators as before.

    .venv/bin/python tools/analysis_tools/benchmark_pipeline.py \
        --images 100 --repeats 3
"""
import argparse
import os
import statistics
import tempfile
import time
from collections import defaultdict

import cv2
import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import Compose
from mmengine.registry import init_default_scope

REPO = os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CPU_CFG = 'configs/symmim/symmim_vit-base-p16_16xb256-amp-coslr-600e_in1k.py'
DEVICE_CFG = ('configs/symmim/'
              'symmim_vit-base-p16_device-aug_16xb256-amp-coslr-600e_in1k.py')
PARTS = ('decode', 'crop', 'photometric', 'masks+pack', 'other')


def make_jpegs(folder, n):
    from mmsymmim.datasets import FashionMNISTIDX
    ds = FashionMNISTIDX(split='test', indices=n)
    paths = []
    for i in range(n):
        img = cv2.resize(ds.get_data_info(i)['img'], (500, 375),
                         interpolation=cv2.INTER_CUBIC)
        noise = np.random.default_rng(i).integers(0, 40, img.shape, np.uint8)
        path = os.path.join(folder, f'{i}.JPEG')
        cv2.imwrite(path, cv2.add(img, noise), [cv2.IMWRITE_JPEG_QUALITY, 90])
        paths.append(path)
    return paths


class Timed:
    """Wraps a transform; adds its wall time to ``clock[part]``."""

    def __init__(self, transform, part, clock):
        self.transform, self.part, self.clock = transform, part, clock

    def __call__(self, results):
        t0 = time.perf_counter()
        out = self.transform(results)
        self.clock[self.part] += time.perf_counter() - t0
        return out


def instrumented(pipeline_cfg, clock):
    """The config's pipeline with every transform timed into a part."""
    pipeline = Compose(pipeline_cfg)
    for i, t in enumerate(pipeline.transforms):
        name = type(t).__name__
        if name == 'MultiView':
            for view in t.pipelines:  # t.transforms holds the same objects
                view.transforms = [
                    Timed(v, 'crop' if type(v).__name__ == 'RandomResizedCrop'
                          else 'photometric', clock) for v in view.transforms
                ]
        else:
            part = 'decode' if 'Load' in name else 'masks+pack'
            pipeline.transforms[i] = Timed(t, part, clock)
    return pipeline


def time_worker(pipeline, clock, paths):
    """Seconds per image of one pass, and of each part."""
    clock.clear()
    t0 = time.perf_counter()
    for path in paths:
        out = pipeline(dict(img_path=path))
    total = (time.perf_counter() - t0) / len(paths)
    parts = {k: clock[k] / len(paths) for k in PARTS[:-1]}
    parts['other'] = total - sum(parts.values())
    return total, parts, out


def time_call(fn, n, sync=lambda: None, warmup=None):
    (warmup or fn)()
    sync()
    t0 = time.perf_counter()
    for _ in range(n):
        fn()
    sync()
    return (time.perf_counter() - t0) / n


def time_device_aug(cfg, batch, device, steps):
    """Seconds per call of the config's DeviceViewAugment on ``batch``
    images (all views) at the crop size, uint8 -> float as in training."""
    from mmpretrain.registry import BATCH_AUGMENTS
    pre = cfg.get('data_preprocessor')
    aug = BATCH_AUGMENTS.build(pre.view_aug).to(device)
    size = cfg.train_dataloader.dataset.pipeline[1].transforms[0][0].scale
    g = torch.Generator().manual_seed(0)
    views = [torch.randint(0, 256, (batch, 3, size, size), generator=g,
                           dtype=torch.uint8).to(device)
             for _ in aug.views]
    sync = (torch.cuda.synchronize if str(device).startswith('cuda')
            else lambda: None)
    return time_call(lambda: aug([v.float() for v in views]), steps, sync,
                     warmup=lambda: aug([v[:2].float() for v in views]))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--images', type=int, default=100)
    p.add_argument('--repeats', type=int, default=3,
                   help='passes per pipeline, in turns; medians reported')
    p.add_argument('--config', default=CPU_CFG)
    p.add_argument('--device-config', default=DEVICE_CFG)
    p.add_argument('--batch', type=int, default=256,
                   help='images per device-aug batch (each with all views)')
    p.add_argument('--aug-device', default='cpu', help="'cpu' or 'cuda'")
    p.add_argument('--aug-steps', type=int, default=3)
    p.add_argument('--aug-threads', type=int, default=os.cpu_count(),
                   help='torch threads for the device aug on the CPU')
    p.add_argument('--mix-batch', type=int, default=128,
                   help='batch of the mask-generator and MixMask timings')
    p.add_argument('--target', type=float, default=None,
                   help='GPU images/s to feed; prints the workers needed')
    args = p.parse_args(argv)
    import mmsymmim  # noqa: F401
    from mmsymmim.datasets import SymmetricMaskGenerator
    from mmsymmim.models.utils import MixMask
    init_default_scope('mmpretrain')
    cfgs = {'cpu': Config.fromfile(os.path.join(REPO, args.config)),
            'device': Config.fromfile(os.path.join(REPO, args.device_config))}
    torch.set_num_threads(1)  # a loader worker runs single-threaded
    clocks = {k: defaultdict(float) for k in cfgs}
    pipes = {k: instrumented(c.train_dataloader.dataset.pipeline, clocks[k])
             for k, c in cfgs.items()}
    runs = {k: [] for k in cfgs}
    with tempfile.TemporaryDirectory() as folder:
        paths = make_jpegs(folder, args.images)
        for k in cfgs:  # warm-up
            pipes[k](dict(img_path=paths[0]))
        for _ in range(args.repeats):
            for k in cfgs:
                total, parts, out = time_worker(pipes[k], clocks[k], paths)
                runs[k].append((total, parts))
                assert out['data_samples'].mask.shape[0] == 2
                assert all(v.dtype == torch.uint8 for v in out['inputs'])

    def med(k, part=None):
        return statistics.median(r[0] if part is None else r[1][part]
                                 for r in runs[k])

    print(f'One worker (1 thread), {args.images} JPEGs 500x375, median of '
          f'{args.repeats} passes in turns\n')
    print('| pipeline | img/s | ms/img | ' + ' | '.join(PARTS) + ' |')
    print('|---' * (3 + len(PARTS)) + '|')
    for k in cfgs:
        cells = [f'{med(k, q) * 1e3:.2f} ({med(k, q) / med(k) * 100:.0f} %)'
                 for q in PARTS]
        print(f'| {k} ({os.path.basename(cfgs[k].filename)}) | '
              f'{1 / med(k):.1f} | {med(k) * 1e3:.2f} | ' + ' | '.join(cells)
              + ' |')
    print(f'\ndevice / cpu worker img/s: {med("cpu") / med("device"):.2f}x')
    if args.target:
        for k in cfgs:
            print(f'workers to feed {args.target:.0f} img/s ({k}): '
                  f'{args.target * med(k):.1f}')

    torch.set_num_threads(args.aug_threads)
    t = time_device_aug(cfgs['device'], args.batch, args.aug_device,
                        args.aug_steps)
    where = (args.aug_device if args.aug_device != 'cpu' else
             f'cpu, {torch.get_num_threads()} threads')
    print(f'\nDeviceViewAugment, {args.batch} images x 2 views at 224 px '
          f'({where}): {t * 1e3:.1f} ms / batch = {args.batch / t:.0f} img/s')
    torch.set_num_threads(1)

    rows = []
    gen = SymmetricMaskGenerator(input_size=224, model_patch_size=16)
    views = [np.zeros((224, 224, 3), np.uint8)] * 2
    t = time_call(lambda: gen.transform(dict(img=views)), 500)
    rows.append(('SymmetricMaskGenerator.transform (per image)',
                 f'{t * 1e3:.3f} ms'))
    nb = args.mix_batch
    t = time_call(lambda: gen.draw(nb, 2, torch.device('cpu')), 50)
    rows.append((f'SymmetricMaskGenerator.draw ({nb} x 2 views, CPU)',
                 f'{t * 1e3:.3f} ms / batch'))
    x = torch.rand(nb, 3, 224, 224)
    mm = MixMask()
    t = time_call(lambda: mm(x), 5)
    rows.append((f'MixMask ({nb} x 3 x 224 x 224, CPU, 1 thread)',
                 f'{t * 1e3:.2f} ms / batch'))
    print('\n| what | time |\n|---|---|')
    for r in rows:
        print(f'| {r[0]} | {r[1]} |')
    return {k: med(k) for k in cfgs}


if __name__ == '__main__':
    main()
