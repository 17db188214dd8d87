"""The SymMIM online/momentum encoder: MoCo-v3's ViT plus a mask token."""
from typing import Optional

import torch
import torch.nn as nn

from mmpretrain.models.selfsup.mocov3 import MoCoV3ViT
from mmpretrain.models.utils import resize_pos_embed
from mmpretrain.registry import MODELS


@MODELS.register_module()
class SymMIMViT(MoCoV3ViT):
    """MoCo-v3 ViT (fixed 2-D sin-cos position embedding, MoCo-v3 init) with a
    learnable SimMIM-style mask token.

    ``forward(x)`` is the plain ViT (``out_type`` applies; no mask), so a
    checkpoint's ``backbone.*`` weights load into mmpretrain's
    ``VisionTransformer`` for fine-tuning (``mask_token`` is the only extra
    key). ``forward(x, mask)`` replaces masked patch embeddings by the mask
    token before the position embedding and the blocks, and returns all
    tokens.

    Args:
        stop_grad_conv1 (bool): freeze the patch projection (MoCo-v3's
            stability trick). Defaults to False: the MIM branch has to learn
            the patch embedding.
        **kwargs: everything :class:`MoCoV3ViT` / ``VisionTransformer`` takes.
    """

    def __init__(self, stop_grad_conv1: bool = False, **kwargs) -> None:
        super().__init__(stop_grad_conv1=stop_grad_conv1, **kwargs)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, self.embed_dims))
        if not self._pretrained():
            # MoCo v3's fixed sin-cos embedding (filled in init_weights).
            # Frozen here, not only in init_weights: the Runner wraps the
            # model in DDP before init_weights, and a parameter that DDP saw
            # as trainable but never gets a gradient stops the second step.
            self.pos_embed.requires_grad = False

    def _pretrained(self) -> bool:
        return (isinstance(self.init_cfg, dict)
                and self.init_cfg.get('type') == 'Pretrained')

    def init_weights(self) -> None:
        super().init_weights()
        if not self._pretrained():
            nn.init.trunc_normal_(self.mask_token, std=0.02)

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None):
        """Args:
            x: images ``(B, C, H, W)``.
            mask: ``(B, h, w)`` token mask (True/1 = masked) or None.

        Returns:
            ``VisionTransformer.forward(x)`` when ``mask`` is None, else the
            tokens ``(B, num_extra_tokens + h*w, C)`` after the final norm.
        """
        if mask is None:
            return super().forward(x)
        return self.forward_masked(x, mask)

    def forward_masked(self, x: torch.Tensor,
                       mask: torch.Tensor) -> torch.Tensor:
        """Masked forward; see :meth:`forward`."""
        x, patch_resolution = self.patch_embed(x)
        B, L, _ = x.shape
        if mask.shape[0] != B or mask[0].numel() != L:
            raise ValueError(
                f'SymMIMViT: mask of shape {tuple(mask.shape)} does not fit '
                f'{B} images of {patch_resolution[0]}x{patch_resolution[1]} '
                f'tokens')
        w = mask.reshape(B, L, 1).to(x.dtype)
        x = x * (1. - w) + self.mask_token.to(x.dtype) * w

        if self.cls_token is not None:
            x = torch.cat((self.cls_token.expand(B, -1, -1), x), dim=1)
        x = x + resize_pos_embed(
            self.pos_embed,
            self.patch_resolution,
            patch_resolution,
            mode=self.interpolate_mode,
            num_extra_tokens=self.num_extra_tokens)
        x = self.drop_after_pos(x)
        x = self.pre_norm(x)
        for layer in self.layers:
            x = layer(x)
        if self.final_norm:
            x = self.ln1(x)
        return x
