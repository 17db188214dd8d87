"""Show what the models see: real images, SymMIM masks at each block scale,
and MixMask mixes with their lambda, in one PNG grid.

    .venv/bin/python tools/visualization/visualize_masks.py --out masks.png

Columns: the image, one SymMIM mask per ``--scales`` value (masked tokens
darkened and tinted), then the MixMask mix with lambda (fraction of own
pixels). Rows: ``--num-images`` Fashion-MNIST test images.
"""
import argparse

import cv2
import numpy as np
import torch

from mmsymmim.datasets import FashionMNISTIDX, checkerboard_mask
from mmsymmim.datasets.fashion_mnist import DEFAULT_ROOT
from mmsymmim.models.utils import MixMask
from mmsymmim.visualization.reconstruction import label, shade, tile

HEADER = 28


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--out', default='masks.png', help='output PNG path')
    p.add_argument('--data-root', default=DEFAULT_ROOT)
    p.add_argument('--num-images', type=int, default=4)
    p.add_argument('--img-size', type=int, default=32)
    p.add_argument('--patch-size', type=int, default=4)
    p.add_argument('--scales', type=int, nargs='+', default=[1, 2, 4])
    p.add_argument('--grid-size', type=int, default=8, help='MixMask grid G')
    p.add_argument('--mask-ratio', type=float, default=0.5)
    p.add_argument('--tile', type=int, default=96, help='tile side in px')
    p.add_argument('--seed', type=int, default=0)
    return p.parse_args(argv)


def render(args) -> np.ndarray:
    torch.manual_seed(args.seed)
    ds = FashionMNISTIDX(data_root=args.data_root, split='test',
                         indices=args.num_images)
    imgs = np.stack([
        cv2.resize(ds.get_data_info(i)['img'], (args.img_size, ) * 2,
                   interpolation=cv2.INTER_LINEAR) for i in range(len(ds))
    ])
    grid = (args.img_size // args.patch_size, ) * 2
    n, T = len(imgs), args.tile
    cols = 2 + len(args.scales)
    canvas = np.zeros((HEADER + n * T, cols * T, 3), np.uint8)
    heads = ['image'] + [f'SymMIM k={k}' for k in args.scales] + ['MixMask']
    for c, h in enumerate(heads):
        label(canvas, h, c * T, HEADER - 9, T)

    x = torch.from_numpy(imgs).permute(0, 3, 1, 2).float()
    mixed, lam, partner = MixMask(
        grid_size=args.grid_size, mask_ratio=args.mask_ratio)(x)
    mixed = mixed.permute(0, 2, 3, 1).byte().numpy()
    for r in range(n):
        y = HEADER + r * T
        canvas[y:y + T, 0:T] = tile(imgs[r], T)
        for c, k in enumerate(args.scales, start=1):
            m = checkerboard_mask(grid, torch.tensor([k]),
                                  torch.tensor([r % 2]))[0].numpy()
            canvas[y:y + T, c * T:(c + 1) * T] = tile(shade(imgs[r], m), T)
        canvas[y:y + T, (cols - 1) * T:] = tile(mixed[r], T)
        label(canvas, f'lam={lam[r]:.2f} +#{int(partner[r])}', (cols - 1) * T,
              y + T - 6, T, 0.38)
    return canvas


def main(argv=None):
    args = parse_args(argv)
    for k in args.scales:
        if not 1 <= k < args.img_size // args.patch_size:
            raise ValueError(f'--scales: {k} is outside 1..'
                             f'{args.img_size // args.patch_size - 1} for a '
                             f'{args.img_size // args.patch_size}-token grid')
    canvas = render(args)
    if not cv2.imwrite(args.out, canvas):
        raise OSError(f'could not write {args.out}')
    print(f'wrote {args.out} ({canvas.shape[1]}x{canvas.shape[0]})')


if __name__ == '__main__':
    main()
