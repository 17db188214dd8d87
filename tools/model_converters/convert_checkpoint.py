"""Export the backbone of an mmsymmim checkpoint for downstream use.

    # timm: loads with timm.create_model(NAME, checkpoint_path=OUT) and no
    # missing keys (the classifier head is written as zeros: fine-tune it)
    W=work_dirs/symmim_vit-base-p16_16xb256-amp-coslr-600e_in1k
    python tools/model_converters/convert_checkpoint.py $W/epoch_600.pth \
        vit_b_timm.pth --to timm
    # mmdet / mmseg: 'backbone.*' keys, position embedding resized to the
    # downstream input, checked against the downstream config's backbone
    python tools/model_converters/convert_checkpoint.py IN.pth OUT.pth \
        --to mmdet --img-size 1024 \
        --config configs/symmim/benchmarks/mask-rcnn_vit-base-p16_simple-fpn_8xb8-amp-lsj-100e_coco.py

The input is loaded with torch's safe loader (weights_only=True). Missing and
unexpected keys are printed; a target weight the export would leave
uninitialised is an error (exit status 1) and nothing is written. The output
is written atomically.
"""  # noqa: E501  (the --config path above)
import argparse
import math
import re
import sys
from collections import OrderedDict

import torch

TIMM_RULES = [  # mmpretrain VisionTransformer -> timm VisionTransformer
    (r'^patch_embed\.projection\.', 'patch_embed.proj.'),
    (r'^layers\.(\d+)\.ln1\.', r'blocks.\1.norm1.'),
    (r'^layers\.(\d+)\.ln2\.', r'blocks.\1.norm2.'),
    (r'^layers\.(\d+)\.attn\.', r'blocks.\1.attn.'),
    (r'^layers\.(\d+)\.ffn\.layers\.0\.0\.', r'blocks.\1.mlp.fc1.'),
    (r'^layers\.(\d+)\.ffn\.layers\.1\.', r'blocks.\1.mlp.fc2.'),
    (r'^ln1\.', 'norm.'),
]
TIMM_NAMES = {(384, 12): 'vit_small', (768, 12): 'vit_base',
              (1024, 24): 'vit_large', (1280, 32): 'vit_huge'}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('src', help='mmsymmim / mmpretrain checkpoint')
    p.add_argument('dst', help='output file')
    p.add_argument('--to', required=True, choices=['timm', 'mmdet', 'mmseg'])
    p.add_argument('--img-size', type=int, default=None,
                   help='downstream input side; the position embedding is '
                   'resized (bicubic) to its grid. Default: keep.')
    p.add_argument('--prefix', default='backbone.',
                   help="backbone prefix in the source ('backbone.')")
    p.add_argument('--config', help='(mmdet/mmseg) downstream config to '
                   'check the export against')
    p.add_argument('--timm-model', help='(timm) model name to check against; '
                   'default derived from the weights, e.g. '
                   'vit_base_patch16_224')
    p.add_argument('--num-heads', type=int, help='(timm) attention heads, '
                   "if not the timm model's own")
    return p.parse_args(argv)


def extract_backbone(state: dict, prefix: str) -> 'OrderedDict':
    out = OrderedDict((k[len(prefix):], v) for k, v in state.items()
                      if k.startswith(prefix))
    if not out:
        raise SystemExit(f'error: no "{prefix}*" keys in the checkpoint')
    out.pop('mask_token', None)  # pretraining only
    return out


def resize_pos(pos: torch.Tensor, extra: int, grid: int) -> torch.Tensor:
    """Bicubic resize of ``(1, extra + g*g, C)`` to ``extra + grid*grid``."""
    from mmpretrain.models.utils import resize_pos_embed
    g = math.isqrt(pos.shape[1] - extra)
    if g * g != pos.shape[1] - extra:
        raise SystemExit(f'error: pos_embed of {pos.shape[1]} tokens is not '
                         f'{extra} + a square grid')
    if g == grid:
        return pos
    return resize_pos_embed(pos, (g, g), (grid, grid), 'bicubic', extra)


def convert(backbone: 'OrderedDict', to: str, img_size, patch: int):
    """Rename keys and resize the position embedding for ``to``."""
    extra = 1 if 'cls_token' in backbone else 0
    pos = backbone['pos_embed']
    if img_size is not None:
        if img_size % patch:
            raise SystemExit(f'error: --img-size {img_size} is not divisible '
                             f'by the patch size {patch}')
        pos = resize_pos(pos, extra, img_size // patch)
    if to == 'mmdet':  # ViTDetBackbone: no class token
        backbone.pop('cls_token', None)
        pos = pos[:, extra:]
    backbone['pos_embed'] = pos
    if to in ('mmdet', 'mmseg'):
        return OrderedDict(('backbone.' + k, v) for k, v in backbone.items())
    out = OrderedDict()
    for k, v in backbone.items():
        for pattern, repl in TIMM_RULES:
            k = re.sub(pattern, repl, k)
        out[k] = v
    dim = out['norm.weight'].shape[0]
    out['head.weight'] = torch.zeros(1000, dim)
    out['head.bias'] = torch.zeros(1000)
    return out


def heads_from_meta(ckpt: dict):
    """Attention heads of the pretraining backbone, from the config that
    mmengine stores in the checkpoint's meta (None if unknown)."""
    try:
        from mmengine.config import Config

        from mmpretrain.models.selfsup.mocov3 import MoCoV3ViT
        cfg = Config.fromstring(ckpt['meta']['cfg'], '.py')
        arch = cfg.model.backbone.arch
        if isinstance(arch, str):
            zoo = dict(MoCoV3ViT.arch_zoo)
            zoo.update(dict.fromkeys(['mocov3-s', 'mocov3-small'],
                                     dict(num_heads=12)))
            arch = zoo[arch.lower()]
        return int(arch['num_heads'])
    except Exception:  # no meta / foreign checkpoint: fall back to timm's
        return None


def target_keys_timm(args, out, patch, grid, num_heads):
    import timm
    dim = out['norm.weight'].shape[0]
    depth = 1 + max(int(k.split('.')[1]) for k in out
                    if k.startswith('blocks.'))
    img = grid * patch
    kwargs = dict(img_size=img, patch_size=patch, embed_dim=dim, depth=depth,
                  mlp_ratio=out['blocks.0.mlp.fc1.weight'].shape[0] / dim)
    name = args.timm_model
    if name is None and (dim, depth) in TIMM_NAMES:
        name = f'{TIMM_NAMES[(dim, depth)]}_patch{patch}_{img}'
        if timm.is_model(name):
            kwargs = {}  # the registered model is exactly this shape
    if name is None or not timm.is_model(name):
        name = 'vit_base_patch16_224'
    if num_heads is not None:
        kwargs['num_heads'] = num_heads
    model = timm.create_model(name, pretrained=False, **kwargs)
    print(f'timm: timm.create_model({name!r}, checkpoint_path={args.dst!r}'
          + ''.join(f', {k}={v!r}' for k, v in kwargs.items()) + ')')
    return model.state_dict()


def target_keys_config(args):
    from mmengine.config import Config
    from mmengine.registry import DefaultScope
    cfg = Config.fromfile(args.config)
    scope = 'mmdet' if args.to == 'mmdet' else 'mmseg'
    if scope == 'mmdet':
        from mmdet.registry import MODELS
        from mmdet.utils import register_all_modules
    else:
        from mmseg.registry import MODELS
        from mmseg.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    backbone_cfg = dict(cfg.model.backbone)
    backbone_cfg.pop('init_cfg', None)
    with DefaultScope.overwrite_default_scope(scope):
        backbone = MODELS.build(backbone_cfg)
    return OrderedDict(('backbone.' + k, v)
                       for k, v in backbone.state_dict().items())


def check(out: dict, target: dict) -> bool:
    missing = [k for k in target if k not in out]
    unexpected = [k for k in out if k not in target]
    shape = [f'{k}: {tuple(out[k].shape)} vs {tuple(target[k].shape)}'
             for k in target if k in out and out[k].shape != target[k].shape]
    def show(title, items):
        more = f' ... and {len(items) - 20} more' if len(items) > 20 else ''
        print(f'{title} ({len(items)}): {items[:20]}{more}')

    show('missing keys', missing)
    show('unexpected keys', unexpected)
    if shape:
        show('shape mismatches', shape)
    return not missing and not shape


def main(argv=None) -> int:
    args = parse_args(argv)
    from mmengine.runner.checkpoint import save_checkpoint

    import mmsymmim  # noqa: F401  (compat: safe loads, atomic writes)
    ckpt = torch.load(args.src, map_location='cpu', weights_only=True)
    state = ckpt.get('state_dict', ckpt)
    backbone = extract_backbone(state, args.prefix)
    patch = backbone['patch_embed.projection.weight'].shape[-1]
    out = convert(backbone, args.to, args.img_size, patch)
    if args.to == 'timm':
        extra = 1
        grid = math.isqrt(out['pos_embed'].shape[1] - extra)
        heads = args.num_heads or heads_from_meta(ckpt)
        target = target_keys_timm(args, out, patch, grid, heads)
    elif args.config:
        target = target_keys_config(args)
    else:
        target = None
        print('no --config given: keys not checked against a model')
    if target is not None and not check(out, target):
        print('error: the export would leave target weights uninitialised; '
              'nothing written', file=sys.stderr)
        return 1
    # atomic: mmsymmim.engine.checkpoint_safety makes mmengine's local writes
    # write-and-rename
    save_checkpoint(out if args.to == 'timm' else dict(state_dict=out),
                    args.dst)
    print(f'wrote {len(out)} tensors to {args.dst}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
