"""MixMask's asymmetric loss on MoCo v2, BYOL and SimSiam.

The first view x is mixed with a partner image (:class:`MixMask`), giving
x_mix, lambda (B,) and partner (B,). x_mix[i] holds lambda_i of image i and
1 - lambda_i of image partner[i], so against the target t_j of image j::

    L_mix = mean_j [ lambda_j * D(q_mix[j], t_j)
                     + (1 - lambda_inv[j]) * D(q_mix[inv[j]], t_j) ]

where inv[j] is the image whose filler was j (partner[inv[j]] == j) and D is
the framework's per-sample loss: MoCo v2's InfoNCE against the queue, BYOL's
and SimSiam's negative cosine of the predictor output. The paper writes it
for MoCo with one lambda per batch and partner = reversed batch; with
``MixMask(per_sample=False, partner='reverse')`` this is exactly that.

Each class reuses mmpretrain's algorithm and only adds the mixed branch; the
total is the original loss plus ``mix_loss_weight * L_mix``, logged apart.
"""
from typing import Callable, Dict, List, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from mmpretrain.models.selfsup import BYOL, MoCo, SimSiam
from mmpretrain.models.utils import batch_shuffle_ddp, batch_unshuffle_ddp
from mmpretrain.registry import BATCH_AUGMENTS, MODELS
from mmpretrain.structures import DataSample

WeightedLoss = Callable[[torch.Tensor, torch.Tensor, torch.Tensor],
                        torch.Tensor]


def mixmask_loss(weighted_loss: WeightedLoss, q_mix: torch.Tensor,
                 target: torch.Tensor, lam: torch.Tensor,
                 partner: torch.Tensor) -> torch.Tensor:
    """L_mix above.

    Args:
        weighted_loss: ``f(q, t, w)`` = mean_i w_i * D(q_i, t_i).
        q_mix: ``(B, C)`` features of the mixed images.
        target: ``(B, C)`` targets (keys) of the unmixed images.
        lam: ``(B,)`` fraction of own pixels in each mixed image.
        partner: ``(B,)`` filler index of each mixed image.
    """
    inv = torch.argsort(partner)
    return (weighted_loss(q_mix, target, lam) +
            weighted_loss(q_mix[inv], target, 1 - lam[inv]))


class _MixMaskMixin:
    """Adds the MixMask augment and the weight of its loss term to an
    mmpretrain algorithm (put it first in the bases).

    Args:
        mixmask (dict): :class:`MixMask` arguments. Defaults to grid 8,
            ratio 0.5, block mask, reversed-batch partner, per-sample lambda.
        mix_loss_weight (float): weight of L_mix. Defaults to 1.
        *args, **kwargs: the algorithm's own arguments.
    """

    def __init__(self,
                 *args,
                 mixmask: Optional[dict] = None,
                 mix_loss_weight: float = 1.,
                 **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.mixmask = BATCH_AUGMENTS.build(
            dict(dict(type='MixMask'), **(mixmask or {})))
        self.mix_loss_weight = mix_loss_weight

    def _cosine_loss(self, q: torch.Tensor, t: torch.Tensor,
                     w: torch.Tensor) -> torch.Tensor:
        """Predictor + shifted negative cosine (``LatentPredictHead``)."""
        pred = self.head.predictor([q])[0]
        lm = self.head.loss_module
        per_sample = lm.shift_factor - lm.scale_factor * F.cosine_similarity(
            pred, t.detach(), dim=-1)
        return (w * per_sample).mean()


@MODELS.register_module()
class MixMaskMoCo(_MixMaskMixin, MoCo):
    """MoCo v2 with MixMask's asymmetric loss; arguments: ``mixmask``,
    ``mix_loss_weight`` (see :class:`_MixMaskMixin`) and mmpretrain
    ``MoCo``'s."""

    def _infonce(self, q: torch.Tensor, k: torch.Tensor,
                 w: torch.Tensor) -> torch.Tensor:
        """mean_i w_i * CE([q_i.k_i, q_i.queue] / T, 0); q, k normalised."""
        l_pos = (q * k).sum(dim=1, keepdim=True)
        l_neg = q @ self.queue.clone().detach()
        logits = torch.cat((l_pos, l_neg), dim=1) / self.head.temperature
        labels = torch.zeros(q.shape[0], dtype=torch.long, device=q.device)
        return self.head.loss_module(logits, labels, weight=w)

    def encode_query(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.neck(self.backbone(x))[0], dim=1)

    @torch.no_grad()
    def encode_key(self, x: torch.Tensor) -> torch.Tensor:
        """Update the key encoder, then encode (shuffled BN across GPUs)."""
        self.encoder_k.update_parameters(
            nn.Sequential(self.backbone, self.neck))
        x, idx_unshuffle = batch_shuffle_ddp(x)
        k = F.normalize(self.encoder_k(x)[0], dim=1)
        return batch_unshuffle_ddp(k, idx_unshuffle)

    def asymmetric_loss(self, q: torch.Tensor, q_mix: torch.Tensor,
                        k: torch.Tensor, lam: torch.Tensor,
                        partner: torch.Tensor) -> Dict[str, torch.Tensor]:
        """CE(q, k) and the weighted L_mix, from normalised features."""
        ones = torch.ones_like(lam)
        return dict(
            loss_moco=self._infonce(q, k, ones),
            loss_mix=self.mix_loss_weight *
            mixmask_loss(self._infonce, q_mix, k, lam, partner))

    def loss(self, inputs: List[torch.Tensor], data_samples: List[DataSample],
             **kwargs) -> Dict[str, torch.Tensor]:
        """Args: inputs: two views ``(B, 3, H, W)``."""
        im_q, im_k = inputs
        x_mix, lam, partner = self.mixmask(im_q)
        q = self.encode_query(im_q)
        q_mix = self.encode_query(x_mix)
        k = self.encode_key(im_k)
        losses = self.asymmetric_loss(q, q_mix, k, lam, partner)
        self._dequeue_and_enqueue(k)
        return losses


@MODELS.register_module()
class MixMaskBYOL(_MixMaskMixin, BYOL):
    """BYOL with MixMask's term on the first view against the target
    network's projection of the second (scaled by 2, as BYOL's own pairs)."""

    def loss(self, inputs: List[torch.Tensor], data_samples: List[DataSample],
             **kwargs) -> Dict[str, torch.Tensor]:
        v1, v2 = inputs
        x_mix, lam, partner = self.mixmask(v1)
        p1 = self.neck(self.backbone(v1))[0]
        p2 = self.neck(self.backbone(v2))[0]
        p_mix = self.neck(self.backbone(x_mix))[0]
        with torch.no_grad():
            self.target_net.update_parameters(
                nn.Sequential(self.backbone, self.neck))
            t1 = self.target_net(v1)[0]
            t2 = self.target_net(v2)[0]
        loss = 2. * (self.head.loss(p1, t2) + self.head.loss(p2, t1))
        mix = mixmask_loss(self._cosine_loss, p_mix, t2, lam, partner)
        return dict(loss_byol=loss, loss_mix=2. * self.mix_loss_weight * mix)


@MODELS.register_module()
class MixMaskSimSiam(_MixMaskMixin, SimSiam):
    """SimSiam with MixMask's term on the first view against the (stop-grad)
    projection of the second (scaled by 0.5, as SimSiam's own pairs)."""

    def loss(self, inputs: List[torch.Tensor], data_samples: List[DataSample],
             **kwargs) -> Dict[str, torch.Tensor]:
        v1, v2 = inputs
        x_mix, lam, partner = self.mixmask(v1)
        z1 = self.neck(self.backbone(v1))[0]
        z2 = self.neck(self.backbone(v2))[0]
        z_mix = self.neck(self.backbone(x_mix))[0]
        loss = 0.5 * (self.head.loss(z1, z2) + self.head.loss(z2, z1))
        mix = mixmask_loss(self._cosine_loss, z_mix, z2, lam, partner)
        return dict(
            loss_simsiam=loss, loss_mix=0.5 * self.mix_loss_weight * mix)
