"""Two-view (or n-view) photometric augmentation on the batch's device.

The loader workers decode and crop (``RandomResizedCrop`` per view); this
augment does the rest of a view recipe on the collated batch, on the GPU when
there is one, with kornia (per-image random parameters, the same code on CPU
and GPU). A view's recipe is written with mmpretrain's own transform dicts, in
its order, so a config passes the CPU pipeline's view list less its crop, e.g.
``views=[_base_.view_pipeline1[1:], _base_.view_pipeline2[1:]]``:

=====================  ============================================
mmpretrain / mmcv      kornia (per image)
=====================  ============================================
RandomApply(ColorJitter, prob)  :class:`PerSampleColorJitter` (p=prob)
ColorJitter            the same with p=1
RandomGrayscale        ``RandomGrayscale`` (BGR ``channel_weights``
                       reversed to RGB)
GaussianBlur           ``RandomGaussianBlur``, sigma uniform in
                       ``magnitude_range`` (or = ``radius``)
Solarize               ``RandomSolarize``, threshold ``thr / 255``
RandomFlip             ``RandomHorizontalFlip``
=====================  ============================================

Input: a list with one ``(B, 3, H, W)`` float tensor per view, **RGB on the
0-255 scale** (the data preprocessor's batch after its BGR->RGB swap, before
it normalises); output: the same shapes and scale. The ops run in fp32 with
autocast off (a bf16 blur would cost about one grey level).

Masks drawn in the worker stay valid: every op keeps the pixel grid; a
flip mirrors the image under a mask of its final token grid, i.e. the mask
is a board on the tensor the model gets, which is what the model masks.
"""
from typing import List, Sequence

import torch
from torch import nn

from mmpretrain.registry import BATCH_AUGMENTS

SUPPORTED = ('RandomApply', 'ColorJitter', 'RandomGrayscale', 'GaussianBlur',
             'Solarize', 'RandomFlip')
BORDERS = ('reflect', 'replicate', 'constant', 'circular')


def _pop_known(cfg: dict, allowed: Sequence[str], name: str) -> dict:
    unknown = set(cfg) - set(allowed) - {'type', '_scope_'}
    if unknown:
        raise ValueError(f'DeviceViewAugment: {name} has unsupported keys '
                         f'{sorted(unknown)}; allowed: {sorted(allowed)}')
    return {k: v for k, v in cfg.items() if k not in ('type', '_scope_')}


def _prob(cfg: dict, name: str, default: float = 1.0) -> float:
    p = float(cfg.get('prob', default))
    if not 0.0 <= p <= 1.0:
        raise ValueError(f'DeviceViewAugment: {name}.prob must be in [0, 1], '
                         f'got {p}')
    return p


def _build_op(cfg: dict, blur_kernel_size: int, blur_border: str):
    """One mmpretrain-style transform dict -> a kornia module (or None if
    its probability is 0)."""
    import kornia.augmentation as K

    from .per_sample_color_jitter import PerSampleColorJitter
    if not isinstance(cfg, dict) or cfg.get('type') not in SUPPORTED:
        kind = cfg.get('type') if isinstance(cfg, dict) else cfg
        hint = (' (crops stay in the worker pipeline)'
                if kind == 'RandomResizedCrop' else '')
        raise ValueError(f'DeviceViewAugment: transform type {kind!r} is not '
                         f'supported{hint}; allowed: {list(SUPPORTED)}')
    kind = cfg['type']
    if kind == 'RandomApply':
        args = _pop_known(cfg, ('transforms', 'prob'), kind)
        inner = args['transforms']
        if (len(inner) != 1 or not isinstance(inner[0], dict)
                or inner[0].get('type') != 'ColorJitter'):
            raise ValueError('DeviceViewAugment: RandomApply.transforms must '
                             'be [dict(type="ColorJitter", ...)], got '
                             f'{inner}')
        return _build_op(
            dict(inner[0], prob=_prob(args, kind)), blur_kernel_size,
            blur_border)
    if kind == 'ColorJitter':
        args = _pop_known(cfg, ('brightness', 'contrast', 'saturation', 'hue',
                                'prob'), kind)
        p = _prob(args, kind)
        return None if not p else PerSampleColorJitter(
            brightness=args.get('brightness', 0.),
            contrast=args.get('contrast', 0.),
            saturation=args.get('saturation', 0.),
            hue=args.get('hue', 0.),
            p=p)
    if kind == 'RandomGrayscale':
        args = _pop_known(cfg, ('prob', 'keep_channels', 'channel_weights'),
                          kind)
        if not args.get('keep_channels', False):
            raise ValueError('DeviceViewAugment: RandomGrayscale needs '
                             'keep_channels=True (views stay 3-channel)')
        bgr = args.get('channel_weights', (1., 1., 1.))
        if len(bgr) != 3 or min(bgr) < 0 or sum(bgr) <= 0:
            raise ValueError('DeviceViewAugment: RandomGrayscale.'
                             'channel_weights must be 3 non-negative numbers '
                             f'(B, G, R order) with a positive sum, got {bgr}')
        rgb = torch.tensor(list(bgr)[::-1], dtype=torch.float32)
        rgb = rgb / rgb.sum()  # mmcv normalises them too
        p = _prob(args, kind, 0.5)
        return None if not p else K.RandomGrayscale(rgb_weights=rgb, p=p)
    if kind == 'GaussianBlur':
        args = _pop_known(cfg, ('magnitude_range', 'magnitude_std', 'radius',
                                'prob'), kind)
        if args.get('radius') is not None:
            sigma = (float(args['radius']), ) * 2
        else:
            if args.get('magnitude_std', 'inf') not in ('inf', float('inf')):
                raise ValueError('DeviceViewAugment: GaussianBlur.'
                                 "magnitude_std must be 'inf' (uniform sigma)")
            sigma = tuple(float(s) for s in args['magnitude_range'])
        p = _prob(args, kind)
        return None if not p else K.RandomGaussianBlur(
            blur_kernel_size, sigma, border_type=blur_border, p=p)
    if kind == 'Solarize':
        args = _pop_known(cfg, ('thr', 'prob'), kind)
        thr = float(args.get('thr', 128)) / 255.
        p = _prob(args, kind, 0.5)
        return None if not p else K.RandomSolarize(
            thresholds=(thr, thr), additions=(0., 0.), p=p)
    args = _pop_known(cfg, ('prob', 'direction'), kind)  # RandomFlip
    if args.get('direction', 'horizontal') != 'horizontal':
        raise ValueError("DeviceViewAugment: RandomFlip.direction must be "
                         f"'horizontal', got {args['direction']!r}")
    p = _prob(args, kind, 0.5)
    return None if not p else K.RandomHorizontalFlip(p=p)


@BATCH_AUGMENTS.register_module()
class DeviceViewAugment(nn.Module):
    """Per-view photometric augmentation of a multi-view batch.

    Args:
        views (list[list[dict]]): one recipe per view, each a list of
            mmpretrain transform dicts (types in ``SUPPORTED``), applied in
            order. Ops with probability 0 are dropped.
        blur_kernel_size (int): odd Gaussian kernel width in pixels. PIL's
            blur (the CPU recipe's) has no kernel size; 13 covers +-3 sigma
            for the recipe's largest sigma, 2.0. Defaults to 13.
        blur_border (str): padding of the blur, one of ``BORDERS``.
            Defaults to 'replicate' (PIL extends the edge pixels).
    """

    def __init__(self,
                 views: Sequence[Sequence[dict]],
                 blur_kernel_size: int = 13,
                 blur_border: str = 'replicate') -> None:
        super().__init__()
        if (not isinstance(blur_kernel_size, int) or blur_kernel_size < 1
                or blur_kernel_size % 2 == 0):
            raise ValueError('DeviceViewAugment: blur_kernel_size must be an '
                             f'odd positive int, got {blur_kernel_size!r}')
        if blur_border not in BORDERS:
            raise ValueError(f'DeviceViewAugment: blur_border must be one of '
                             f'{BORDERS}, got {blur_border!r}')
        if isinstance(views, dict) or not views:
            raise ValueError('DeviceViewAugment: views must be a non-empty '
                             'list with one list of transforms per view')
        self.views = nn.ModuleList()
        for view in views:
            ops = [_build_op(t, blur_kernel_size, blur_border) for t in view]
            self.views.append(
                nn.Sequential(*[op for op in ops if op is not None]))

    def _apply(self, fn, *args, **kwargs):
        """``.to()`` / ``.cuda()`` move the module; kornia would then draw
        its parameters on the device. Keep the draws on the CPU: they are a
        few numbers per image, a seed gives the same views on CPU and GPU,
        and ``ViewAugDataPreprocessor``'s per-rank CPU stream covers them."""
        out = super()._apply(fn, *args, **kwargs)
        for m in self.modules():
            if hasattr(m, 'set_rng_device_and_dtype'):  # a kornia augment
                m.set_rng_device_and_dtype(torch.device('cpu'), torch.float32)
        return out

    def forward(self, inputs: List[torch.Tensor]) -> List[torch.Tensor]:
        """``inputs``: one ``(B, 3, H, W)`` RGB 0-255 float tensor per view;
        returns the augmented views, same shapes, 0-255."""
        if len(inputs) != len(self.views):
            raise ValueError(f'DeviceViewAugment: got {len(inputs)} views, '
                             f'the recipe has {len(self.views)}')
        out = []
        for aug, x in zip(self.views, inputs):
            if x.dim() != 4 or x.shape[1] != 3:
                raise ValueError('DeviceViewAugment: each view must be '
                                 f'(B, 3, H, W), got {tuple(x.shape)}')
            with torch.autocast(device_type=x.device.type, enabled=False):
                y = aug(x.float() / 255.) if len(aug) else x.float() / 255.
            out.append(y * 255.)
        return out

    def __repr__(self) -> str:
        names = [[type(m).__name__ for m in v] for v in self.views]
        return f'{type(self).__name__}(views={names})'

