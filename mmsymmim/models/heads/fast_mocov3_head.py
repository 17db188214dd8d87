"""MoCo v3's InfoNCE head without a host-device copy per step."""
from typing import Optional

import torch
import torch.nn.functional as F
from mmengine.dist import all_gather, get_rank

from mmpretrain.models.heads import MoCoV3Head
from mmpretrain.registry import MODELS


@MODELS.register_module()
class FastMoCoV3Head(MoCoV3Head):
    """:class:`mmpretrain.models.MoCoV3Head` with the labels made on the
    device (mmpretrain builds them on the CPU and copies them over, a
    synchronising copy every step on GPU), and an optional per-sample weight
    (MixMask's term). Same arguments; same loss when ``weight`` is None.

    ``loss(q (N, C), k (N, C), weight (N,) or None)``: predictor(q) against
    the keys of all ranks, ``mean_i weight_i * CE_i``.
    """

    def loss(self,
             base_out: torch.Tensor,
             momentum_out: torch.Tensor,
             weight: Optional[torch.Tensor] = None) -> torch.Tensor:
        pred = F.normalize(self.predictor([base_out])[0], dim=1)
        target = F.normalize(momentum_out, dim=1)
        target = torch.cat(all_gather(target), dim=0)
        logits = pred @ target.T / self.temperature
        n = logits.shape[0]
        labels = torch.arange(n, device=logits.device) + n * get_rank()
        return self.loss_module(logits, labels, weight=weight)
