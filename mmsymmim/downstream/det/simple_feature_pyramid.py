"""ViTDet's simple feature pyramid (mmdet's pip package has none)."""
from typing import Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import build_norm_layer
from mmdet.registry import MODELS as MMDET_MODELS
from mmengine.model import BaseModule
from mmengine.registry import DefaultScope


@MMDET_MODELS.register_module('LN2d')
class LayerNorm2d(nn.LayerNorm):
    """LayerNorm over the channels of a ``(B, C, H, W)`` map; ``norm_cfg=
    dict(type='LN2d')`` in mmdet heads (ViTDet's normalised heads)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


@MMDET_MODELS.register_module()
class SimpleFeaturePyramid(BaseModule):
    """Build a pyramid from one stride-s map by deconvs / pooling.

    Scale 4: two 2x transposed convs (LN + GELU between); scale 2: one;
    scale 1: identity; scale 0.5: 2x2 max-pool. Each level then gets a 1x1
    and a 3x3 conv, each followed by the norm (ViTDet's LayerNorm by
    default). With ``num_outs`` one more than the scales, a stride-2 max-pool
    of the coarsest level is appended (the RPN's P6).

    Args:
        in_channels (int): channels of the backbone map.
        out_channels (int): channels of every level. Defaults to 256.
        scale_factors (Sequence[float]): from (4, 2, 1, 0.5).
        num_outs (int): len(scale_factors) or one more. Defaults to 5.
        norm_cfg (dict, optional): the norm after each conv, any mmcv / mmdet
            norm (``dict(type='BN')``, ``dict(type='GN', num_groups=32)``);
            None: none, and the convs get biases. Defaults to
            ``dict(type='LN2d')``, ViTDet's. LayerNorm over the channels of
            each pixel drops the local feature magnitude, which is most of
            what a random-init or briefly pretrained tiny encoder has: on the
            Fashion-MNIST scenes it left a ResNet-18's RoI features at 13 %
            linear-probe class accuracy against FPN's 50 %, and the RoI head
            at chance after 200 iterations (docs/transfer_study.md).

    Shapes: ``((B, in_channels, H, W),)`` -> ``num_outs`` maps
    ``(B, out_channels, H*s, W*s)``.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int = 256,
                 scale_factors: Sequence[float] = (4.0, 2.0, 1.0, 0.5),
                 num_outs: int = 5,
                 norm_cfg: Optional[dict] = dict(type='LN2d'),
                 init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        allowed = (4.0, 2.0, 1.0, 0.5)
        bad = [s for s in scale_factors if s not in allowed]
        if bad:
            raise ValueError(f'SimpleFeaturePyramid: `scale_factors` {bad} '
                             f'not in {allowed}')
        if num_outs not in (len(scale_factors), len(scale_factors) + 1):
            raise ValueError(f'SimpleFeaturePyramid: `num_outs` must be '
                             f'{len(scale_factors)} or '
                             f'{len(scale_factors) + 1}, got {num_outs}')
        self.num_outs = num_outs

        def norm(c):
            if norm_cfg is None:
                return []
            with DefaultScope.overwrite_default_scope('mmdet'):  # LN2d
                return [build_norm_layer(norm_cfg, c)[1]]

        bias = norm_cfg is None
        self.stages = nn.ModuleList()
        for scale in scale_factors:
            c = in_channels
            if scale == 4.0:
                layers = [
                    nn.ConvTranspose2d(c, c // 2, 2, 2),
                    *norm(c // 2),
                    nn.GELU(),
                    nn.ConvTranspose2d(c // 2, c // 4, 2, 2)
                ]
                c //= 4
            elif scale == 2.0:
                layers = [nn.ConvTranspose2d(c, c // 2, 2, 2)]
                c //= 2
            elif scale == 1.0:
                layers = []
            else:
                layers = [nn.MaxPool2d(2, 2)]
            layers += [
                nn.Conv2d(c, out_channels, 1, bias=bias),
                *norm(out_channels),
                nn.Conv2d(out_channels, out_channels, 3, padding=1,
                          bias=bias),
                *norm(out_channels),
            ]
            self.stages.append(nn.Sequential(*layers))

    def forward(self, inputs: Tuple[torch.Tensor]) -> Tuple[torch.Tensor]:
        x = inputs[-1]
        outs = [stage(x) for stage in self.stages]
        if self.num_outs > len(outs):
            outs.append(F.max_pool2d(outs[-1], 1, stride=2))
        return tuple(outs)
