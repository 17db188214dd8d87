"""CPU cost of the SymMIM ImageNet data pipeline and of mask generation.

Runs the real train pipeline of configs/symmim/symmim_vit-base-p16_16xb256-amp-coslr-300e_in1k.py (decode, two
MoCo v3 views, symmetric masks, packing) in one process on JPEGs shaped like
ImageNet's (500x375, from Fashion-MNIST images upscaled; the decode and crop
cost depends on the size, not the content), and times the mask generators:
the pipeline transform per image, the on-device batch draw and MixMask.

    .venv/bin/python tools/analysis_tools/benchmark_pipeline.py --images 200

Prints images/s for one worker: with W workers the loader delivers about
W times that (while cores allow), which is what a GPU step has to be fed.
"""
import argparse
import os
import statistics
import tempfile
import time

import cv2
import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import Compose
from mmengine.registry import init_default_scope

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def make_jpegs(folder, n):
    from mmsymmim.datasets import FashionMNISTIDX
    ds = FashionMNISTIDX(split='test', indices=n)
    paths = []
    for i in range(n):
        img = cv2.resize(ds.get_data_info(i)['img'], (500, 375),
                         interpolation=cv2.INTER_CUBIC)
        noise = np.random.default_rng(i).integers(0, 20, img.shape, np.uint8)
        path = os.path.join(folder, f'{i}.JPEG')
        cv2.imwrite(path, cv2.add(img, noise), [cv2.IMWRITE_JPEG_QUALITY, 90])
        paths.append(path)
    return paths


def time_call(fn, n):
    t0 = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - t0) / n


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--images', type=int, default=200)
    p.add_argument('--batch', type=int, default=128)
    p.add_argument('--target', type=float, default=None,
                   help='GPU images/s to feed; prints the workers needed')
    args = p.parse_args(argv)
    torch.set_num_threads(1)  # a loader worker runs single-threaded
    import mmsymmim  # noqa: F401
    from mmsymmim.datasets import MixMask, SymmetricMaskGenerator
    init_default_scope('mmpretrain')
    cfg = Config.fromfile(os.path.join(REPO, 'configs/symmim/symmim_vit-base-p16_16xb256-amp-coslr-300e_in1k.py'))
    pipeline = Compose(cfg.train_dataloader.dataset.pipeline)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        paths = make_jpegs(folder, args.images)
        pipeline(dict(img_path=paths[0]))  # warm-up
        t0 = time.perf_counter()
        for path in paths:
            out = pipeline(dict(img_path=path))
        per_img = (time.perf_counter() - t0) / len(paths)
    assert out['data_samples'].mask.shape == (2, 14, 14)
    rows.append(('pipeline, 1 worker (decode, 2 views, masks, pack)',
                 f'{1 / per_img:.1f} img/s', f'{per_img * 1e3:.2f} ms/img'))
    gen = SymmetricMaskGenerator(input_size=224, model_patch_size=16)
    views = [np.zeros((224, 224, 3), np.uint8)] * 2
    t = time_call(lambda: gen.transform(dict(img=views)), 500)
    rows.append(('SymmetricMaskGenerator.transform (per image)', '',
                 f'{t * 1e3:.3f} ms ({t / per_img * 100:.1f} % of the '
                 'pipeline)'))
    t = time_call(lambda: gen.draw(args.batch, 2, torch.device('cpu')), 50)
    rows.append((f'SymmetricMaskGenerator.draw ({args.batch} x 2 views, CPU)',
                 '', f'{t * 1e3:.3f} ms / batch'))
    x = torch.rand(args.batch, 3, 224, 224)
    mm = MixMask()
    t = time_call(lambda: mm(x), 10)
    rows.append((f'MixMask ({args.batch} x 3 x 224 x 224, CPU)', '',
                 f'{t * 1e3:.2f} ms / batch'))
    if args.target:
        rows.append((f'workers to feed {args.target:.0f} img/s', '',
                     f'{args.target * per_img:.1f}'))
    print('| what | rate | time |\n|---|---|---|')
    for r in rows:
        print(f'| {r[0]} | {r[1]} | {r[2]} |')
    return per_img


if __name__ == '__main__':
    main()
