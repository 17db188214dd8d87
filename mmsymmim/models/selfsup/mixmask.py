"""MixMask's asymmetric loss on mmpretrain's Siamese frameworks.

The first view x is mixed with a partner image (:class:`MixMask`), giving
x_mix, lambda (B,) and partner (B,). x_mix[i] holds lambda_i of image i and
1 - lambda_i of image partner[i], so against the target t_j of image j::

    L_mix = mean_j [ lambda_j * D(q_mix[j], t_j)
                     + (1 - lambda_inv[j]) * D(q_mix[inv[j]], t_j) ]

where inv[j] is the image whose filler was j (partner[inv[j]] == j) and D is
the framework's per-sample loss, computed by its head with a ``weight``
argument (:mod:`mmsymmim.models.heads.weighted_heads`). The paper writes it
for MoCo with one lambda per batch and partner = reversed batch; with
``MixMask(per_sample=False, partner='reverse')`` this is exactly that.

Each framework counts its own (query, target) pairs with a scale (BYOL 2,
SimSiam 0.5, MoCo 1); a class states it once as ``pair_scale`` and the
logged ``loss_mix`` is ``pair_scale * mix_loss_weight * L_mix``, so the mixed
pair weighs what one of the framework's own pairs weighs. Adding MixMask to
another framework: mix in :class:`MixMaskMixin`, set ``pair_scale``, give the
head a ``weight`` argument, and add ``self.mix_loss(...)`` to its ``loss()``
(see :class:`MixMaskMoCoV3`).
"""
import inspect
from typing import Callable, Dict, List, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from mmpretrain.models.selfsup import BYOL, MoCo, MoCoV3, SimSiam
from mmpretrain.models.utils import batch_shuffle_ddp, batch_unshuffle_ddp
from mmpretrain.registry import BATCH_AUGMENTS, MODELS
from mmpretrain.structures import DataSample
from ...arg_checks import check_number

PairLoss = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


def mixmask_loss(pair_loss: PairLoss, q_mix: torch.Tensor,
                 target: torch.Tensor, lam: torch.Tensor,
                 partner: torch.Tensor) -> torch.Tensor:
    """L_mix above (unscaled).

    Args:
        pair_loss: ``f(q, t, w)`` = mean_i w_i * D(q_i, t_i).
        q_mix: ``(B, C)`` features of the mixed images.
        target: ``(B, C)`` targets (keys) of the unmixed images.
        lam: ``(B,)`` fraction of own pixels in each mixed image.
        partner: ``(B,)`` filler index of each mixed image.
    """
    inv = torch.argsort(partner)
    return (pair_loss(q_mix, target, lam) +
            pair_loss(q_mix[inv], target, 1 - lam[inv]))


class MixMaskMixin:
    """Adds MixMask to an mmpretrain algorithm (put it first in the bases).

    Args:
        mixmask (dict): :class:`MixMask` arguments. Defaults to grid 8,
            ratio 0.5, block mask, reversed-batch partner, per-sample lambda.
        mix_loss_weight (float): weight of L_mix relative to one of the
            framework's own pairs. Defaults to 1.
        *args, **kwargs: the algorithm's own arguments.
    """
    #: scale the framework puts on each of its own (query, target) pairs
    pair_scale: float = 1.

    def __init__(self,
                 *args,
                 mixmask: Optional[dict] = None,
                 mix_loss_weight: float = 1.,
                 **kwargs) -> None:
        check_number(type(self).__name__, 'mix_loss_weight', mix_loss_weight,
                     0, why=' (a negative weight maximises its loss)')
        super().__init__(*args, **kwargs)
        if 'weight' not in inspect.signature(self.head.loss).parameters:
            raise ValueError(
                f'{type(self).__name__}: `head` must take per-sample weights '
                f'(loss(..., weight)); {type(self.head).__name__} does not. '
                f'Use WeightedContrastiveHead (MoCo v2), '
                f'WeightedLatentPredictHead (BYOL, SimSiam) or FastMoCoV3Head '
                f'(MoCo v3)')
        self.mixmask = BATCH_AUGMENTS.build(
            dict(dict(type='MixMask'), **(mixmask or {})))
        self.mix_loss_weight = mix_loss_weight

    def batch_limits(self) -> list:
        """See :mod:`mmsymmim.models.utils.batch_limits`."""
        return [(2, 'MixMask fills each image from another image of the '
                 'batch', True)]

    def extract_feat(self, inputs: torch.Tensor) -> tuple:
        """Backbone features of ``inputs``, each stage's map average-pooled
        to ``(B, C)`` (ResNet-50's last stage: ``(B, 2048)``): what
        mmpretrain's FeatureExtractor, the k-NN report and the neighbours
        tool read. Training does not call it."""
        return tuple(f.mean(dim=(2, 3)) if f.dim() == 4 else f
                     for f in self.backbone(inputs))

    def pair_loss(self, q: torch.Tensor, t: torch.Tensor,
                  w: torch.Tensor) -> torch.Tensor:
        """mean_i w_i * D(q_i, t_i): the head's own loss by default."""
        return self.head.loss(q, t, weight=w)

    def mix_loss(self, q_mix: torch.Tensor, target: torch.Tensor,
                 lam: torch.Tensor, partner: torch.Tensor) -> torch.Tensor:
        """``pair_scale * mix_loss_weight * L_mix``."""
        return self.pair_scale * self.mix_loss_weight * mixmask_loss(
            self.pair_loss, q_mix, target, lam, partner)


@MODELS.register_module()
class MixMaskMoCo(MixMaskMixin, MoCo):
    """MoCo v2 with MixMask (the published setting); head:
    ``WeightedContrastiveHead``."""
    pair_scale = 1.

    def pair_loss(self, q: torch.Tensor, k: torch.Tensor,
                  w: torch.Tensor) -> torch.Tensor:
        """InfoNCE against the queue; q, k normalised ``(B, C)``."""
        pos = (q * k).sum(dim=1, keepdim=True)
        neg = q @ self.queue.clone().detach()
        return self.head.loss(pos, neg, weight=w)

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

    def loss(self, inputs: List[torch.Tensor], data_samples: List[DataSample],
             **kwargs) -> Dict[str, torch.Tensor]:
        """Args: inputs: two views ``(B, 3, H, W)``."""
        im_q, im_k = inputs
        x_mix, lam, partner = self.mixmask(im_q)
        q = self.encode_query(im_q)
        q_mix = self.encode_query(x_mix)
        k = self.encode_key(im_k)
        losses = dict(
            loss_moco=self.pair_scale * self.pair_loss(q, k, None),
            loss_mix=self.mix_loss(q_mix, k, lam, partner))
        self._dequeue_and_enqueue(k)
        return losses


@MODELS.register_module()
class MixMaskBYOL(MixMaskMixin, BYOL):
    """BYOL with MixMask on the first view against the target network's
    projection of the second; head: ``WeightedLatentPredictHead``."""
    pair_scale = 2.  # BYOL: 2 * (L(p1, t2) + L(p2, t1))

    def loss(self, inputs: List[torch.Tensor], data_samples: List[DataSample],
             **kwargs) -> Dict[str, torch.Tensor]:
        v1, v2 = inputs
        x_mix, lam, partner = self.mixmask(v1)
        p1, p2, p_mix = [
            self.neck(self.backbone(v))[0] for v in (v1, v2, x_mix)
        ]
        with torch.no_grad():
            self.target_net.update_parameters(
                nn.Sequential(self.backbone, self.neck))
            t1, t2 = self.target_net(v1)[0], self.target_net(v2)[0]
        return dict(
            loss_byol=self.pair_scale *
            (self.head.loss(p1, t2) + self.head.loss(p2, t1)),
            loss_mix=self.mix_loss(p_mix, t2, lam, partner))


@MODELS.register_module()
class MixMaskSimSiam(MixMaskMixin, SimSiam):
    """SimSiam with MixMask on the first view against the (stop-gradient)
    projection of the second; head: ``WeightedLatentPredictHead``."""
    pair_scale = 0.5  # SimSiam: 0.5 * (L(z1, z2) + L(z2, z1))

    def loss(self, inputs: List[torch.Tensor], data_samples: List[DataSample],
             **kwargs) -> Dict[str, torch.Tensor]:
        v1, v2 = inputs
        x_mix, lam, partner = self.mixmask(v1)
        z1, z2, z_mix = [
            self.neck(self.backbone(v))[0] for v in (v1, v2, x_mix)
        ]
        return dict(
            loss_simsiam=self.pair_scale *
            (self.head.loss(z1, z2) + self.head.loss(z2, z1)),
            loss_mix=self.mix_loss(z_mix, z2, lam, partner))


@MODELS.register_module()
class MixMaskMoCoV3(MixMaskMixin, MoCoV3):
    """MoCo v3 with MixMask on the first view against the momentum keys of
    the second; head: ``FastMoCoV3Head``."""
    pair_scale = 1.  # MoCo v3: L(q1, k2) + L(q2, k1)

    def loss(self, inputs: List[torch.Tensor], data_samples: List[DataSample],
             **kwargs) -> Dict[str, torch.Tensor]:
        v1, v2 = inputs
        x_mix, lam, partner = self.mixmask(v1)
        q1, q2, q_mix = [
            self.neck(self.backbone(v))[0] for v in (v1, v2, x_mix)
        ]
        with torch.no_grad():
            self.momentum_encoder.update_parameters(
                nn.Sequential(self.backbone, self.neck))
            k1, k2 = self.momentum_encoder(v1)[0], self.momentum_encoder(v2)[0]
        return dict(
            loss_mocov3=self.pair_scale *
            (self.head.loss(q1, k2) + self.head.loss(q2, k1)),
            loss_mix=self.mix_loss(q_mix, k2, lam, partner))
