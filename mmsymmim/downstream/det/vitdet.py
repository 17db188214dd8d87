"""ViTDet-style plain-ViT backbone for mmdet (the pip package has none).

Li et al., "Exploring Plain Vision Transformer Backbones for Object
Detection" (ECCV 2022): most blocks attend inside non-overlapping windows, a
few blocks attend globally, and one single-scale map feeds a simple feature
pyramid (:class:`SimpleFeaturePyramid`).

The module *is* mmpretrain's ``VisionTransformer`` (same parameter names), so
a SymMIM checkpoint loads with ``init_cfg=dict(type='Pretrained',
checkpoint=..., prefix='backbone.')`` and no key surgery: the class token's
position embedding is dropped and the grid is resized bicubically on load by
``VisionTransformer``'s own load hook. Differences from ViTDet's code: no
relative position bias (SymMIM has none to load), and windows are padded
before the whole block (padded tokens are cropped after it).
"""
import math
from typing import Sequence

import torch
import torch.nn.functional as F
from mmdet.registry import MODELS as MMDET_MODELS

from mmpretrain.models import VisionTransformer
from mmpretrain.models.utils import resize_pos_embed


def window_apply(layer, x: torch.Tensor, hw: Sequence[int],
                 window: int) -> torch.Tensor:
    """Run ``layer`` on non-overlapping ``window x window`` token windows.

    x ``(B, h*w, C)`` -> ``(B, h*w, C)``; the grid is zero-padded up to a
    multiple of ``window`` and cropped back.
    """
    B, _, C = x.shape
    h, w = hw
    ph, pw = (-h) % window, (-w) % window
    x = F.pad(x.view(B, h, w, C), (0, 0, 0, pw, 0, ph))
    H, W = h + ph, w + pw
    x = x.view(B, H // window, window, W // window, window, C)
    x = x.permute(0, 1, 3, 2, 4, 5).reshape(-1, window * window, C)
    x = layer(x)
    x = x.view(B, H // window, W // window, window, window, C)
    x = x.permute(0, 1, 3, 2, 4, 5).reshape(B, H, W, C)
    return x[:, :h, :w].reshape(B, h * w, C)


@MMDET_MODELS.register_module()
class ViTDetBackbone(VisionTransformer):
    """Plain ViT with windowed + global attention, one output map.

    Args:
        window_size (int): window side in tokens. Defaults to 14.
        global_attn_indices (Sequence[int]): blocks with global attention.
            Defaults to (2, 5, 8, 11) (ViT-B).
        **kwargs: mmpretrain ``VisionTransformer`` arguments; ``img_size``
            should be the detection input size (1024 for LSJ).

    Returns (forward): a 1-tuple with the ``(B, C, H/p, W/p)`` map.
    """

    def __init__(self,
                 window_size: int = 14,
                 global_attn_indices: Sequence[int] = (2, 5, 8, 11),
                 **kwargs) -> None:
        kwargs.setdefault('with_cls_token', False)
        kwargs.setdefault('out_type', 'featmap')
        super().__init__(**kwargs)
        bad = [i for i in global_attn_indices if not 0 <= i < self.num_layers]
        if bad:
            raise ValueError(f'ViTDetBackbone: `global_attn_indices` {bad} '
                             f'outside 0..{self.num_layers - 1}')
        if window_size < 1:
            raise ValueError(f'ViTDetBackbone: `window_size` must be >= 1, '
                             f'got {window_size}')
        self.window_size = window_size
        self.global_attn_indices = tuple(global_attn_indices)

    def _prepare_pos_embed(self, state_dict, prefix, *args, **kwargs):
        """Drop a checkpoint's class-token position before resizing.

        mmpretrain's hook drops it only when the grids already match; a
        pretraining checkpoint (e.g. 14x14 + cls) loaded at detection size
        (64x64, no cls) would otherwise fail to resize.
        """
        name = prefix + 'pos_embed'
        if name in state_dict and not self.with_cls_token:
            n = state_dict[name].shape[1]
            if math.isqrt(n)**2 != n and math.isqrt(n - 1)**2 == n - 1:
                state_dict[name] = state_dict[name][:, 1:]
        super()._prepare_pos_embed(state_dict, prefix, *args, **kwargs)

    def forward(self, x: torch.Tensor):
        B = x.shape[0]
        x, hw = self.patch_embed(x)
        if self.cls_token is not None:
            x = torch.cat((self.cls_token.expand(B, -1, -1), x), dim=1)
        x = x + resize_pos_embed(
            self.pos_embed,
            self.patch_resolution,
            hw,
            mode=self.interpolate_mode,
            num_extra_tokens=self.num_extra_tokens)
        x = self.drop_after_pos(x)
        x = self.pre_norm(x)
        x = x[:, self.num_extra_tokens:]  # windows need the bare grid
        for i, layer in enumerate(self.layers):
            if i in self.global_attn_indices:
                x = layer(x)
            else:
                x = window_apply(layer, x, hw, self.window_size)
        if self.final_norm:
            x = self.ln1(x)
        return (x.transpose(1, 2).reshape(B, -1, *hw), )
