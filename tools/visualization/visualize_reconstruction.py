"""Show what a SymMIM checkpoint reconstructs, as one PNG grid.

    .venv/bin/python tools/visualization/visualize_reconstruction.py \\
        CONFIG CKPT --out recon.png [--images FOLDER] [--num 4]

Rows: ``--num`` images: by default the config's k-NN test set (Fashion-MNIST
test split in the demos) or its train set; ``--images FOLDER`` takes the
first readable images of a folder (any config, e.g. the ImageNet ones).
Columns: the image, the online encoder's mask, the model's prediction of the
masked patches pasted into the visible ones, the EMA encoder's mask (masked
patches darkened). Masks come from the config's SymmetricMaskGenerator with
``--seed``. Pass the ``--cfg-options`` the checkpoint was trained with if
they changed the model.
"""
import argparse

import cv2
import torch
from mmengine.config import Config, DictAction
from mmengine.registry import init_default_scope
from mmengine.runner import load_checkpoint


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('config', help='SymMIM config file')
    p.add_argument('checkpoint', help='checkpoint of that config')
    p.add_argument('--out', default='reconstruction.png', help='output PNG')
    p.add_argument('--images', help='folder of images to show')
    p.add_argument('--num', type=int, default=4, help='number of images')
    p.add_argument('--seed', type=int, default=0, help='seed of the masks')
    p.add_argument('--device', default='cpu', help="e.g. 'cuda:0'")
    p.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config settings, as in tools/train.py')
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.num < 1:
        raise SystemExit('--num must be at least 1')
    import mmsymmim  # noqa: F401  registers modules
    from mmpretrain.registry import MODELS
    from mmsymmim.datasets.data_check import find_data_problem
    from mmsymmim.visualization.reconstruction import (
        default_dataset,
        find_mask_generator,
        images_from_dataset,
        images_from_folder,
        reconstruction_grid,
    )

    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    if cfg.get('data_preprocessor') is not None:  # as mmengine's Runner does
        cfg.model.setdefault('data_preprocessor', cfg.data_preprocessor)
    model = MODELS.build(cfg.model)
    if not hasattr(model, 'reconstruct'):
        raise SystemExit(f'{args.config}: {type(model).__name__} does not '
                         'reconstruct images (a SymMIM config is needed)')

    mask_generator = find_mask_generator(cfg, model)
    size = mask_generator.input_size
    if args.images:
        try:
            images = images_from_folder(args.images, args.num, size)
        except FileNotFoundError as e:
            raise SystemExit(f'--images: {e}')
    else:
        dataset = default_dataset(cfg)
        problem = find_data_problem(dataset)
        if problem:
            raise SystemExit(f'{problem} (or pass --images FOLDER)')
        images = images_from_dataset(dataset, args.num, size)
    load_checkpoint(model, args.checkpoint, map_location='cpu', strict=True)
    model.to(torch.device(args.device))
    grid = reconstruction_grid(model, images, mask_generator, args.seed)
    if not cv2.imwrite(args.out, grid):
        raise OSError(f'could not write {args.out}')
    print(f'wrote {args.out} ({grid.shape[1]}x{grid.shape[0]}, '
          f'{len(images)} images)')


if __name__ == '__main__':
    main()
