"""MAE's decoder for SymMIM's visible-token path."""
from typing import Optional

import torch

from mmpretrain.models.necks import MAEPretrainDecoder
from mmpretrain.registry import MODELS
from ...arg_checks import check_int, check_number


@MODELS.register_module()
class SymMIMDecoder(MAEPretrainDecoder):
    """mmpretrain's :class:`MAEPretrainDecoder` that also takes padded
    visible sets (``SymMIMViT.forward_visible`` with a board cut at the
    border): padded slots hold encodings of *masked* patches, so they are
    replaced by the mask token before the decoder sees them. Without padding
    it is MAE's decoder, same arguments and weights.

    ``forward(x (B, 1 + n, C), ids_restore (B, L), pad (B, n) or None)``
    returns per-patch predictions ``(B, L, patch_size**2 * in_chans)``.

    The class keeps MAE's defaults (512 wide, 8 deep); SymMIM's configs set a
    light decoder (see ``configs/symmim``): the contrastive branch, not the
    decoder, carries the global features, and the decoder runs on every
    token, so its size decides much of the step's cost.
    """

    def __init__(self, num_patches: int = 196, patch_size: int = 16,
                 in_chans: int = 3, embed_dim: int = 1024,
                 decoder_embed_dim: int = 512, decoder_depth: int = 8,
                 decoder_num_heads: int = 16, mlp_ratio: float = 4,
                 **kwargs) -> None:
        owner = type(self).__name__
        for key, value in (('patch_size', patch_size),
                           ('in_chans', in_chans), ('embed_dim', embed_dim),
                           ('decoder_embed_dim', decoder_embed_dim),
                           ('decoder_depth', decoder_depth),
                           ('decoder_num_heads', decoder_num_heads)):
            check_int(owner, key, value)
        check_int(owner, 'num_patches', num_patches)
        side = round(num_patches**0.5)
        if side * side != num_patches:
            raise ValueError(
                f'{owner}: `num_patches` must be a square (a square token '
                f'grid: (img_size // patch_size) ** 2), got {num_patches!r}')
        if decoder_embed_dim % decoder_num_heads:
            raise ValueError(
                f'{owner}: `decoder_num_heads` must divide '
                f'`decoder_embed_dim`={decoder_embed_dim}, got '
                f'{decoder_num_heads!r}')
        check_number(owner, 'mlp_ratio', mlp_ratio, 0, low_open=True)
        super().__init__(num_patches, patch_size, in_chans, embed_dim,
                         decoder_embed_dim, decoder_depth, decoder_num_heads,
                         mlp_ratio, **kwargs)

    def forward(self,
                x: torch.Tensor,
                ids_restore: torch.Tensor,
                pad: Optional[torch.Tensor] = None) -> torch.Tensor:
        if pad is None:
            return super().forward(x, ids_restore)
        x = self.decoder_embed(x)
        B, n1, C = x.shape
        tokens = torch.where(pad.unsqueeze(-1), self.mask_token.to(x.dtype),
                             x[:, 1:])
        fill = self.mask_token.expand(B, ids_restore.shape[1] + 1 - n1, C)
        tokens = torch.gather(
            torch.cat([tokens, fill.to(x.dtype)], dim=1), 1,
            ids_restore.unsqueeze(-1).expand(-1, -1, C))
        x = torch.cat([x[:, :1], tokens], dim=1) + self.decoder_pos_embed
        for blk in self.decoder_blocks:
            x = blk(x)
        return self.decoder_pred(self.decoder_norm(x))[:, 1:]
