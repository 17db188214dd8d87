"""The SymMIM online/momentum encoder: MoCo v3's ViT with two masked inputs.

* ``forward(x, mask)`` with ``use_mask_token=True`` (SimMIM style): masked
  patch embeddings are replaced by a learnable mask token and every token
  goes through the blocks.
* ``forward_visible(x, mask)`` (MAE style): only the visible tokens (and the
  class token) go through the blocks, so a 50 % board halves the encoder's
  cost. Masks whose visible count differs between samples (a board cut at
  the border, e.g. k = 2 on ViT/16's 14 x 14 grid: 96 or 100 visible) are
  padded to the largest count; padded slots are hidden from attention by a
  key mask, so each sample's tokens see exactly its own visible tokens.
"""
from typing import Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from mmpretrain.models.selfsup.mocov3 import MoCoV3ViT
from mmpretrain.models.utils import resize_pos_embed
from mmpretrain.registry import MODELS


def visible_index(
    mask: torch.Tensor
) -> Tuple[torch.Tensor, int, Optional[torch.Tensor]]:
    """Token order that puts each sample's visible tokens first.

    Args:
        mask: ``(B, L)`` bool, True = masked.

    Returns:
        ``ids_shuffle (B, L)`` (visible tokens first, each group in raster
        order), ``n`` = the largest visible count, and ``pad (B, n)`` bool,
        True where slot i of a sample holds a masked token (padding), or
        None when every sample has n visible tokens. One host sync (n).
    """
    ids_shuffle = torch.argsort(mask.to(torch.int8), dim=1, stable=True)
    counts = (~mask).sum(1)
    lo, n = torch.stack(torch.aminmax(counts)).tolist()
    if lo == n:
        return ids_shuffle, n, None
    slots = torch.arange(n, device=mask.device)
    pad = slots.unsqueeze(0) >= counts.unsqueeze(1)
    return ids_shuffle, n, pad


def gather_tokens(x: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
    """``x (B, L, C)`` -> ``(B, n, C)``: tokens ``ids (B, n)`` of each row."""
    return torch.gather(x, 1, ids.unsqueeze(-1).expand(-1, -1, x.shape[-1]))


def block_with_key_mask(layer: nn.Module, x: torch.Tensor,
                        keep: torch.Tensor) -> torch.Tensor:
    """mmpretrain's ``TransformerEncoderLayer.forward`` with a key mask.

    ``keep (B, 1, 1, N)`` bool: True = a key every query may attend to.
    Same parameters and arithmetic as the layer's own forward.
    """
    a = layer.attn
    h = layer.ln1(x)
    B, N, _ = h.shape
    q, k, v = a.qkv(h).reshape(B, N, 3, a.num_heads,
                               a.head_dims).permute(2, 0, 3, 1, 4)
    h = F.scaled_dot_product_attention(
        q, k, v, attn_mask=keep, dropout_p=a.attn_drop if a.training else 0.)
    h = a.proj(h.transpose(1, 2).reshape(B, N, a.embed_dims))
    x = x + a.out_drop(a.gamma1(a.proj_drop(h)))
    return layer.ffn(layer.ln2(x), identity=x)


@MODELS.register_module()
class SymMIMViT(MoCoV3ViT):
    """MoCo v3 ViT (fixed 2-D sin-cos position embedding, MoCo v3 init) that
    also encodes masked views.

    ``forward(x)`` is the plain ViT (``out_type`` applies), so a checkpoint's
    ``backbone.*`` weights load into mmpretrain's ``VisionTransformer`` for
    fine-tuning (``mask_token``, if any, is the only extra key).

    Args:
        stop_grad_conv1 (bool): freeze the patch projection (MoCo v3's
            stability trick). Defaults to False: MIM has to learn it.
        use_mask_token (bool): create the SimMIM mask token that
            ``forward(x, mask)`` needs. The visible-token path does not use
            it (an unused parameter would stop DDP). Defaults to True.
        **kwargs: everything :class:`MoCoV3ViT` / ``VisionTransformer`` takes.
    """

    def __init__(self,
                 stop_grad_conv1: bool = False,
                 use_mask_token: bool = True,
                 **kwargs) -> None:
        super().__init__(stop_grad_conv1=stop_grad_conv1, **kwargs)
        self.mask_token = (nn.Parameter(torch.zeros(1, 1, self.embed_dims))
                           if use_mask_token else None)
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
        if self.mask_token is not None and not self._pretrained():
            nn.init.trunc_normal_(self.mask_token, std=0.02)

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None):
        """Args:
            x: images ``(B, C, H, W)``.
            mask: ``(B, h, w)`` token mask (True = masked) or None.

        Returns:
            ``VisionTransformer.forward(x)`` when ``mask`` is None, else the
            tokens ``(B, 1 + h*w, C)`` after the final norm, masked patches
            replaced by the mask token before the blocks.
        """
        if mask is None:
            return super().forward(x)
        return self.forward_masked(x, mask)

    def embed(self, x: torch.Tensor):
        """Patch embeddings ``(B, L, C)``, their position embeddings
        ``(1, L, C)`` (resized to the input's grid) and the grid."""
        x, grid = self.patch_embed(x)
        pos = resize_pos_embed(
            self.pos_embed, self.patch_resolution, grid,
            mode=self.interpolate_mode, num_extra_tokens=self.num_extra_tokens)
        return x, pos[:, self.num_extra_tokens:], grid

    def _class_token(self, B: int) -> torch.Tensor:
        """``(B, 1, C)``: class token plus its position embedding."""
        return (self.cls_token + self.pos_embed[:, :1]).expand(B, -1, -1)

    def _check_mask(self, mask: torch.Tensor, B: int, L: int, grid) -> None:
        if mask.shape[0] != B or mask[0].numel() != L:
            raise ValueError(
                f'{type(self).__name__}: mask of shape {tuple(mask.shape)} '
                f'does not fit {B} images of {grid[0]}x{grid[1]} tokens')

    def _blocks(self, x: torch.Tensor,
                keep: Optional[torch.Tensor] = None) -> torch.Tensor:
        x = self.pre_norm(self.drop_after_pos(x))
        for layer in self.layers:
            x = layer(x) if keep is None else block_with_key_mask(
                layer, x, keep)
        return self.ln1(x) if self.final_norm else x

    def forward_masked(self, x: torch.Tensor,
                       mask: torch.Tensor) -> torch.Tensor:
        """SimMIM path; see :meth:`forward`."""
        if self.mask_token is None:
            raise ValueError(f'{type(self).__name__}(use_mask_token=False) '
                             f'has no mask token: use forward_visible')
        x, pos, grid = self.embed(x)
        B, L, _ = x.shape
        self._check_mask(mask, B, L, grid)
        w = mask.reshape(B, L, 1).to(x.dtype)
        x = x * (1. - w) + self.mask_token.to(x.dtype) * w + pos
        return self._blocks(torch.cat([self._class_token(B), x], dim=1))

    def _plain_projection(self, x: torch.Tensor) -> bool:
        """Is the patch embedding one linear map per patch (a strided conv
        with no padding or norm, on an image the patches tile)?"""
        proj, pe = self.patch_embed.projection, self.patch_embed
        p = proj.kernel_size
        return (isinstance(proj, nn.Conv2d) and p == proj.stride
                and proj.padding == (0, 0) and proj.dilation == (1, 1)
                and proj.groups == 1 and pe.norm is None
                and x.shape[-2] % p[0] == 0 and x.shape[-1] % p[1] == 0)

    def embed_visible(self, x: torch.Tensor, mask: torch.Tensor):
        """Embeddings of the visible patches only, position embedding added.

        The patch projection is linear per patch, so only the visible
        patches are projected (a patch embedding that is not a plain strided
        projection is applied to every patch, then gathered: same result).

        Returns ``tokens (B, n, C)`` in ``visible first`` order, ``ids_shuffle
        (B, L)`` and ``pad (B, n)`` or None (see :func:`visible_index`).
        """
        B = x.shape[0]
        if not self._plain_projection(x):
            tokens, pos, grid = self.embed(x)
            self._check_mask(mask, B, tokens.shape[1], grid)
            ids_shuffle, n, pad = visible_index(mask.reshape(B, -1).bool())
            return gather_tokens(tokens + pos, ids_shuffle[:, :n]), \
                ids_shuffle, pad
        proj = self.patch_embed.projection
        (ph, pw), C = proj.kernel_size, x.shape[1]
        grid = (x.shape[-2] // ph, x.shape[-1] // pw)
        L = grid[0] * grid[1]
        self._check_mask(mask, B, L, grid)
        ids_shuffle, n, pad = visible_index(mask.reshape(B, L).bool())
        ids = ids_shuffle[:, :n]
        patches = x.reshape(B, C, grid[0], ph, grid[1], pw).permute(
            0, 2, 4, 1, 3, 5).reshape(B, L, C * ph * pw)
        tokens = F.linear(gather_tokens(patches, ids),
                          proj.weight.reshape(proj.out_channels, -1),
                          proj.bias)
        pos = resize_pos_embed(
            self.pos_embed, self.patch_resolution, grid,
            mode=self.interpolate_mode,
            num_extra_tokens=self.num_extra_tokens)[:, self.num_extra_tokens:]
        pos = gather_tokens(pos.expand(B, -1, -1), ids)
        return tokens + pos, ids_shuffle, pad

    def forward_visible(self, x: torch.Tensor, mask: torch.Tensor):
        """MAE path: embed and encode the class token and the visible
        tokens only.

        Args:
            x: images ``(B, C, H, W)``.
            mask: ``(B, h, w)`` bool token mask, True = masked.

        Returns:
            ``tokens (B, 1 + n, C)`` (class token first; n = the largest
            visible count in the batch), ``ids_restore (B, L)`` (slot of each
            token in ``visible first`` order, for the decoder) and ``pad
            (B, n)`` bool (slots holding padding) or None when every sample
            has n visible tokens.
        """
        B = x.shape[0]
        x, ids_shuffle, pad = self.embed_visible(x, mask)
        x = torch.cat([self._class_token(B), x], dim=1)
        ids_restore = torch.argsort(ids_shuffle, dim=1)
        if pad is None:
            return self._blocks(x), ids_restore, None
        keep = torch.cat([pad.new_ones(B, 1), ~pad], dim=1)[:, None, None]
        return self._blocks(x, keep), ids_restore, pad
