"""Mean attention distance per layer of ViT checkpoints on a folder of images.

    .venv/bin/python tools/analysis_tools/attention_distance.py \
        configs/symmim/symmim_vit-tiny-p4_1xb128-400i_fmnist.py \
        work_dirs/demo/iter_400.pth --random-init \
        --images data/fmnist_scenes/images/val --num-images 256

How far, in pixels, each head of each block attends (the locality measure of
the ViT paper; mmsymmim/evaluation/attention_distance.py says how it is
computed). The encoder is mmpretrain's plain ``VisionTransformer`` with the
architecture (``arch``, ``patch_size``, ``img_size``) of CONFIG's backbone, so
an MAE, SymMIM or MoCo v3 checkpoint of that size all load (``--prefix``
picks the encoder: ``momentum_encoder.module.backbone.`` for SymMIM's EMA
one); every tensor must load. Images are the first ``--num-images`` of the
folder (sorted paths, sub-folders included: ``list_images`` of
``mmsymmim.visualization.image_folder``, as the other folder tools), read as
colour, normalised with CONFIG's ``data_preprocessor``; inputs larger than
``img_size`` get the position embedding resized, as the downstream configs
do. ``--own-backbone`` builds CONFIG's own backbone instead (a scene
detector's ``ViTDetBackbone``, to read a fine-tuned detector; every block
must attend globally). Prints a table, one row per checkpoint or ``--labels``
name: per layer the mean over heads, with the range over heads (one
checkpoint) or over the name's checkpoints (seeds).
"""
import argparse
import json
import os.path as osp

import numpy as np
import torch
from mmengine.config import Config


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('config', help='a ViT pretraining config (the arch)')
    p.add_argument('checkpoints', nargs='*')
    p.add_argument('--random-init', action='store_true',
                   help='add a row for the randomly initialised encoder')
    p.add_argument('--images', required=True, help='a folder of images')
    p.add_argument('--num-images', type=int, default=256)
    p.add_argument('--labels', nargs='+',
                   help='a name per checkpoint for the table (default: the '
                   'file path); checkpoints of one name (seeds) are averaged')
    p.add_argument('--prefix', default='backbone.')
    p.add_argument('--own-backbone', action='store_true',
                   help="build CONFIG's own model.backbone (a downstream "
                   "config's ViTDetBackbone, to read a fine-tuned detector) "
                   'instead of a plain ViT of its size')
    p.add_argument('--seed', type=int, default=0,
                   help='of the random init')
    p.add_argument('--out', help='write the result as JSON here')
    args = p.parse_args(argv)
    if not args.checkpoints and not args.random_init:
        p.error('give one or more checkpoints and/or --random-init')
    if args.labels and len(args.labels) != len(args.checkpoints):
        p.error(f'--labels: {len(args.labels)} given for '
                f'{len(args.checkpoints)} checkpoints; give one each')
    if args.num_images < 1:
        p.error(f'--num-images must be >= 1, got {args.num_images}')
    if not osp.isdir(args.images):
        p.error(f'--images: {args.images} is not a folder')
    return args


def vit_cfg(cfg: Config, own: bool = False) -> dict:
    """A plain mmpretrain ViT with the architecture of ``cfg``'s backbone,
    or (``own``) that backbone itself, without its ``init_cfg``."""
    bb = cfg.model.backbone
    if own:  # built in the config's scope (mmdet's registry for a detector)
        scope = cfg.get('default_scope', 'mmpretrain')
        out = {k: v for k, v in bb.items() if k != 'init_cfg'}
        if '.' not in out['type']:
            out['type'] = f'{scope}.{out["type"]}'
        return out
    if 'arch' not in bb or 'patch_size' not in bb:
        raise SystemExit(
            f'error: the config\'s model.backbone ({bb.get("type")}) has no '
            f'arch / patch_size: attention_distance needs a ViT config')
    return dict(type='mmpretrain.VisionTransformer', arch=bb['arch'],
                patch_size=bb['patch_size'], img_size=bb.get('img_size', 224),
                out_type='raw')


def check_blocks(backbone) -> None:
    """One line, not a traceback, for a backbone the distance cannot read:
    no ViT blocks (a ResNet config), or blocks attending in windows."""
    if not hasattr(backbone, 'layers') or not hasattr(backbone,
                                                      'patch_embed'):
        raise SystemExit(
            f'error: the config\'s backbone ({type(backbone).__name__}) is '
            f'not a ViT: attention_distance needs one (patch_embed, layers)')
    n = len(backbone.layers)
    windowed = sorted(set(range(n)) - set(
        getattr(backbone, 'global_attn_indices', range(n))))
    if windowed:
        raise SystemExit(
            f'error: --own-backbone: blocks {windowed} attend in windows; '
            f'the distance needs global attention in every block '
            f'(model.backbone.global_attn_indices)')


def load_images(folder: str, n: int, cfg: Config) -> torch.Tensor:
    """The first ``n`` images of ``folder``, ``(n, 3, H, W)`` normalised."""
    import mmcv

    from mmsymmim.visualization.image_folder import list_images
    paths = list_images(folder)[:n]
    if not paths:
        raise SystemExit(f'error: --images: no image files in {folder}')
    imgs = [mmcv.imread(f, 'color') for f in paths]
    sizes = {im.shape for im in imgs}
    if len(sizes) > 1:
        raise SystemExit(f'error: --images: the images differ in size '
                         f'({sorted(sizes)[:3]}); give a folder of one size')
    pre = cfg.model.get('data_preprocessor') or cfg.get('data_preprocessor')
    x = torch.from_numpy(np.stack(imgs)).permute(0, 3, 1, 2).float()
    if pre.get('to_rgb') or pre.get('bgr_to_rgb'):
        x = x.flip(1)
    mean = torch.tensor(pre['mean']).view(1, -1, 1, 1)
    std = torch.tensor(pre['std']).view(1, -1, 1, 1)
    return (x - mean) / std


def table(result: dict) -> str:
    """Markdown: a row per label, per layer the mean over heads (and over
    the label's checkpoints) with the range over heads, or over the
    checkpoints (seeds) where a label has several."""
    rows = result['rows']
    layers = len(next(iter(rows.values()))['distance'][0])
    lines = [f'mean attention distance (px) on {result["images"]} images of '
             f'{result["size"][0]}x{result["size"][1]}: per layer, mean over '
             f'heads [range over heads, or over checkpoints where a row has '
             f'several]',
             '| row | checkpoints | '
             + ' | '.join(f'layer {i}' for i in range(layers)) + ' |',
             '|' + '---|' * (layers + 2)]
    for label, row in rows.items():
        d = np.array(row['distance'])  # (checkpoints, layers, heads)
        # (checkpoints, layers), or one checkpoint's (heads, layers)
        spread = d.mean(2) if len(d) > 1 else d[0].T
        cells = [f'{d[:, i].mean():.1f} [{spread[:, i].min():.1f}-'
                 f'{spread[:, i].max():.1f}]' for i in range(layers)]
        lines.append(f'| {label} | {len(d)} | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def main(argv=None):
    args = parse_args(argv)
    import mmsymmim  # noqa: F401
    from mmsymmim.evaluation import load_backbone
    from mmsymmim.evaluation.attention_distance import attention_distance
    cfg = Config.fromfile(args.config)
    images = load_images(args.images, args.num_images, cfg)
    rows = list(zip(args.labels or args.checkpoints, args.checkpoints))
    if args.random_init:
        rows.append(('random init', None))
    result = dict(images=len(images), size=list(images.shape[2:]), rows={})
    for label, ckpt in rows:
        torch.manual_seed(args.seed)
        try:
            backbone = load_backbone(vit_cfg(cfg, args.own_backbone), ckpt,
                                     prefix=args.prefix)
        except ValueError as e:  # a wrong --prefix or another arch
            raise SystemExit(f'error: {e}')
        check_blocks(backbone)
        row = result['rows'].setdefault(label, dict(checkpoints=[],
                                                    distance=[]))
        row['checkpoints'].append(ckpt or 'random init')
        row['distance'].append(attention_distance(backbone, images).tolist())
    print(table(result))
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(result, f, indent=1)
    return result


if __name__ == '__main__':
    main()
