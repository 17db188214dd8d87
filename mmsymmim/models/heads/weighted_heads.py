"""mmpretrain's Siamese heads with a per-sample ``weight`` (MixMask's term).

MixMask weighs each mixed image's loss by the share of the image in it
(lambda_i, or 1 - lambda_i for its partner), so its heads take
``loss(..., weight)`` = ``mean_i weight_i * D_i``. With ``weight=None`` each
head computes exactly its mmpretrain parent's loss. MoCo v3's is
:class:`FastMoCoV3Head` (already takes ``weight``).
"""
from typing import Optional

import torch
import torch.nn.functional as F

from mmpretrain.models.heads import ContrastiveHead, LatentPredictHead
from mmpretrain.registry import MODELS


@MODELS.register_module()
class WeightedContrastiveHead(ContrastiveHead):
    """MoCo v2's head (``ContrastiveHead``): ``loss(pos (N, 1), neg (N, K),
    weight (N,) or None)`` = mean_i weight_i * CE([pos_i, neg_i] / T, 0)."""

    def loss(self,
             pos: torch.Tensor,
             neg: torch.Tensor,
             weight: Optional[torch.Tensor] = None) -> torch.Tensor:
        logits = torch.cat((pos, neg), dim=1) / self.temperature
        labels = torch.zeros(pos.shape[0], dtype=torch.long, device=pos.device)
        return self.loss_module(logits, labels, weight=weight)


@MODELS.register_module()
class WeightedLatentPredictHead(LatentPredictHead):
    """BYOL's / SimSiam's head (``LatentPredictHead`` with
    ``CosineSimilarityLoss``): ``loss(input (N, C), target (N, C),
    weight (N,) or None)`` = mean_i weight_i * (shift - scale *
    cos(predictor(input_i), target_i)); the target gets no gradient."""

    def loss(self,
             input: torch.Tensor,
             target: torch.Tensor,
             weight: Optional[torch.Tensor] = None) -> torch.Tensor:
        if weight is None:
            return super().loss(input, target)
        pred = self.predictor([input])[0]
        lm = self.loss_module
        per_sample = lm.shift_factor - lm.scale_factor * F.cosine_similarity(
            pred, target.detach(), dim=-1)
        return (weight * per_sample).mean()
