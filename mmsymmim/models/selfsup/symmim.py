"""SymMIM: masked image modeling with symmetric masks plus a MoCo-v3 branch.

Nguyen & Park, "Symmetric masking strategy enhances the performance of masked
image modeling", ICPR 2024 (arXiv 2408.12772).

One step, for two augmented views x1, x2 of a batch (``MultiView``)::

    online encoder  : t_v = ViT(x_v, fine mask_v)
    MIM branch      : L_mim = head(decoder(t_v), x_v, mask_v)  (masked pixels)
    contrastive     : q_v = predictor(projector(t_v[cls]))
    momentum (EMA)  : k_v = projector_ema(ViT_ema(x_v, coarse ema_mask_v)[cls])
                      theta_ema <- m theta_ema + (1 - m) theta   (cosine m)
    L_con = InfoNCE(q_1, k_2)                       (negatives: all ranks)
            + InfoNCE(q_2, k_1)  with symmetric=True (not the default)
    L     = w_mim * L_mim + w_con * L_con

The weights as they act: ``con_loss_weight`` (w_con) multiplies what the
contrastive head returns, and MoCo v3's head (``MoCoV3Head``, so
``FastMoCoV3Head``) already multiplies each InfoNCE term by its
``loss.loss_weight``, 2 * tau in MoCo v3's configs (0.4 at tau = 0.2). The
effective weight of each InfoNCE term is therefore
``con_loss_weight * head.loss.loss_weight`` (1 * 0.4 in the ImageNet
configs), not ``con_loss_weight``. The README's SymMIM table lists this with
every other point where the paper is followed or a choice is ours; a test
holds the table to the configs (``tests/test_paper_table*.py``).

How the encoders take a masked view (``encoder_input``):
  * ``'mask_token'`` (SimMIM-style; the class default): masked patches
    become a mask token and every token is encoded; decoder
    ``SimMIMLinearDecoder``, head ``SimMIMHead``. The paper's public text
    says its online encoder is a ViT, not whether masked patches enter it as
    mask tokens or are dropped.
  * ``'visible'`` (MAE-style): both encoders see only their visible tokens
    (half of them on a 50 % board), the online one's output goes through a
    light transformer decoder that re-inserts mask tokens
    (:class:`SymMIMDecoder`, head ``MAEPretrainHead``). Same losses, about
    half the encoder cost. Boards whose visible count varies between samples
    are padded with an attention key mask (``SymMIMViT.forward_visible``):
    that keeps the board exactly, where fixing the count would have to move
    or drop tokens. The configs' default.

Choices the paper leaves open, with the defaults taken here:
  * ``symmetric``: False (the class default and every config's) uses one
    order (view 1 online, view 2 to the momentum encoder) at half the cost
    a step; the configs run twice the steps: at equal FLOPs it beat True
    over 3 seeds in the small-scale study (docs/small_scale_study.md).
    True (MoCo v3's loss; the class default until 2026-12-04) sends both
    views through the online and the momentum encoder and symmetrises the
    contrastive loss; ``L_mim`` is the mean over the masked pixels of both
    views. The paper speaks of an "asymmetric MoCo-v3-style setup" without
    saying which.
  * ``ema_masked=True``: the momentum encoder sees its own coarse board (the
    paper's figure 3 setting); False feeds it the full view (MoCo v3 keys).
  * ``norm_target=False``: the target is the raw pixels of the input as
    the data preprocessor hands it over (normalised once per channel with
    the data set's mean / std, as SimMIM's targets), with no per-patch
    normalisation. ``norm_target=True``: MAE's per-patch normalised targets
    (each patch minus its own mean, over its own std).
  * The EMA momentum follows MoCo v3's cosine schedule (mmpretrain's
    ``CosineEMA``): mmengine's ``momentum`` is 1 - m, so ``base_momentum``
    0.01 means m = 0.99 rising to 1.
"""
from typing import Dict, List, Optional, Union

import torch
import torch.nn as nn
from mmengine.dist import get_world_size

from mmpretrain.models.selfsup.base import BaseSelfSupervisor
from mmpretrain.registry import MODELS, TRANSFORMS
from mmpretrain.structures import DataSample
from ..utils import ForeachCosineEMA
from ..utils.batch_limits import check_batch_size
from ..utils.patches import from_patches, patch_mean_std, to_patches
from .symmim_checks import (
    ENCODER_INPUTS,  # noqa: F401  (re-exported: the old home)
    check_mim_parts,
    check_options,
    contrastive_batch_limits,
)
from .symmim_masks import draw_step_masks


@MODELS.register_module()
class SymMIM(BaseSelfSupervisor):
    """SymMIM algorithm.

    Args:
        backbone (dict): online encoder, a ViT taking ``(x, mask)`` such as
            :class:`SymMIMViT`.
        neck (dict): projector on the class token (MoCo v3 ``NonLinearNeck``).
        head (dict): contrastive head with the predictor
            (``MoCoV3Head``: InfoNCE, keys gathered across processes).
        mim_neck (dict): pixel decoder: ``SimMIMLinearDecoder``
            (``encoder_input='mask_token'``) or :class:`SymMIMDecoder`
            (``'visible'``).
        mim_head (dict): reconstruction loss on masked pixels: ``SimMIMHead``
            or ``MAEPretrainHead`` (leave its ``norm_pix`` False: per-patch
            normalisation is ``norm_target``, one switch for both paths).
        encoder_input (str): ``'mask_token'`` or ``'visible'`` (see above).
            Defaults to 'mask_token' (SimMIM's path; the ImageNet configs set
            'visible').
        base_momentum (float): initial EMA momentum in mmengine's convention
            (1 - m). Defaults to 0.01.
        end_momentum (float): final one. Defaults to 0 (m = 1).
        mim_loss_weight (float): w_mim. Defaults to 1.
        con_loss_weight (float): w_con, applied on top of the head's own
            ``loss.loss_weight`` (2 * tau in MoCo v3's configs): the
            effective weight of an InfoNCE term is their product (see
            above). Defaults to 1. 0 runs the MIM
            branch alone: no projector, predictor or momentum encoder work
            (under DDP set ``find_unused_parameters=True``).
        symmetric (bool): symmetrise over the two views. Defaults to False
            (one view order a step, as every config; see above).
        ema_masked (bool): mask the momentum encoder's view with
            ``ema_mask``. Defaults to True.
        norm_target (bool): True: MAE's per-patch normalised pixel targets
            (each patch minus its mean, over its std). False: the input's
            pixels as the data preprocessor normalised them (per channel, no
            per-patch normalisation). Defaults to False.
        mask_generator (dict, optional): a ``SymmetricMaskGenerator`` config
            to draw the masks on the model's device inside ``loss()`` (fast
            path: no per-sample masks to collate and copy). None (default):
            masks come from the data pipeline in the data samples, as
            mmpretrain's SimMIM masks do. Using both is an error.
    """

    def __init__(self,
                 backbone: dict,
                 neck: dict,
                 head: dict,
                 mim_neck: dict,
                 mim_head: dict,
                 encoder_input: str = 'mask_token',
                 base_momentum: float = 0.01,
                 end_momentum: float = 0.,
                 mim_loss_weight: float = 1.,
                 con_loss_weight: float = 1.,
                 symmetric: bool = False,
                 ema_masked: bool = True,
                 norm_target: bool = False,
                 mask_generator: Optional[dict] = None,
                 pretrained: Optional[str] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[Union[List[dict], dict]] = None) -> None:
        check_options(encoder_input, base_momentum, end_momentum,
                      mim_loss_weight, con_loss_weight, symmetric, ema_masked,
                      norm_target)  # before the parts are built
        super().__init__(
            backbone=backbone,
            neck=neck,
            head=head,
            pretrained=pretrained,
            data_preprocessor=data_preprocessor,
            init_cfg=init_cfg)
        self.encoder_input = encoder_input
        self.mim_neck = MODELS.build(mim_neck)
        self.mim_head = MODELS.build(mim_head)
        check_mim_parts(encoder_input, self.backbone, self.mim_head)
        self.mim_loss_weight = mim_loss_weight
        self.con_loss_weight = con_loss_weight
        self.symmetric = symmetric
        self.ema_masked = ema_masked
        self.norm_target = norm_target
        self.mask_generator = (None if mask_generator is None else
                               TRANSFORMS.build(mask_generator))
        self.momentum_encoder = ForeachCosineEMA(
            self._online_encoder(),
            momentum=base_momentum,
            end_momentum=end_momentum)

    def _online_encoder(self) -> nn.ModuleDict:
        """The modules the EMA tracks: backbone and projector."""
        return nn.ModuleDict(dict(backbone=self.backbone, neck=self.neck))

    def batch_limits(self) -> list:
        """See :mod:`mmsymmim.models.utils.batch_limits`."""
        return contrastive_batch_limits(self.con_loss_weight)

    def extract_feat(self, inputs: torch.Tensor):
        """Backbone features of unmasked images (for k-NN, probing,
        transfer)."""
        return self.backbone(inputs)

    # ---------------------------------------------------------------- steps
    def draw_masks(self, x: torch.Tensor, data_samples: List[DataSample]):
        """Online and EMA masks, each ``(2, B, h, w)`` (EMA: None if the
        momentum encoder sees full views); see :mod:`.symmim_masks`."""
        return draw_step_masks(self.mask_generator, self.ema_masked, x,
                               data_samples)

    def patch_targets(self, images: torch.Tensor) -> torch.Tensor:
        """Pixel targets ``(B, C, H, W)``; per-patch normalised if asked."""
        if not self.norm_target:
            return images
        p = self.mim_head.patch_size
        mean, std = patch_mean_std(images, p)
        return from_patches((to_patches(images, p) - mean) / std, p)

    def decode(self, x: torch.Tensor, mask: torch.Tensor):
        """Online encoder and pixel decoder.

        Args:
            x: ``(N, 3, H, W)`` images, mask ``(N, h, w)`` bool.

        Returns:
            class tokens ``(N, C)`` and the prediction in the head's layout:
            ``(N, 3, H, W)`` (mask_token) or ``(N, h*w, p*p*3)`` (visible).
        """
        if self.encoder_input == 'mask_token':
            tokens = self.backbone(x, mask)
            N, L, C = tokens[:, 1:].shape
            h, w = mask.shape[-2:]
            feat = tokens[:, 1:].transpose(1, 2).reshape(N, C, h, w)
            return tokens[:, 0], self.mim_neck(feat)
        tokens, ids_restore, pad = self.backbone.forward_visible(x, mask)
        return tokens[:, 0], self.mim_neck(tokens, ids_restore, pad)

    def encode_and_reconstruct(self, x: torch.Tensor, mask: torch.Tensor):
        """Online encoder and MIM branch: class tokens ``(N, C)`` and the
        reconstruction loss on the masked patches of ``x`` (see
        :meth:`decode`)."""
        cls, pred = self.decode(x, mask)
        target = self.patch_targets(x)
        if self.encoder_input == 'visible':
            mask = mask.flatten(1).to(pred.dtype)
        return cls, self.mim_head.loss(pred, target, mask)

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The model's pixels for every patch, ``(N, 3, H, W)``, in the target
        space (the normalised image; per-patch normalised if
        ``norm_target``). For looking at, not for training."""
        pred = self.decode(x, mask)[1]
        if self.encoder_input == 'visible':
            pred = self.mim_head.unpatchify(pred)
        return pred

    def project(self, cls_tokens: torch.Tensor, n: int) -> List[torch.Tensor]:
        """Projector per view (BatchNorm statistics per view, as MoCo v3)."""
        return [self.neck((c, ))[0] for c in cls_tokens.chunk(n)]

    @torch.no_grad()
    def update_momentum_encoder(self) -> None:
        """theta_ema <- m theta_ema + (1 - m) theta (cosine m)."""
        self.momentum_encoder.update_parameters(self._online_encoder())

    @torch.no_grad()
    def momentum_keys(
            self, views: List[torch.Tensor],
            masks: Optional[List[torch.Tensor]]) -> List[torch.Tensor]:
        """Keys of ``views`` from the EMA encoder, one ``(B, D)`` per view;
        ``masks`` None: full views."""
        ema = self.momentum_encoder.module
        x = torch.cat(views)
        if masks is None:
            cls = ema['backbone'](x)[0]
            if cls.dim() == 3:  # out_type='raw': the class token comes first
                cls = cls[:, 0]
            if cls.dim() != 2:
                raise ValueError('SymMIM(ema_masked=False) needs the backbone '
                                 "out_type='cls_token' or 'raw'")
        elif self.encoder_input == 'visible':
            cls = ema['backbone'].forward_visible(x, torch.cat(masks))[0][:, 0]
        else:
            cls = ema['backbone'](x, torch.cat(masks))[:, 0]
        return [ema['neck']((c, ))[0] for c in cls.chunk(len(views))]

    def loss(self, inputs: List[torch.Tensor], data_samples: List[DataSample],
             **kwargs) -> Dict[str, torch.Tensor]:
        """Args:
            inputs: two views, each ``(B, 3, H, W)``.
            data_samples: with ``mask`` (and ``ema_mask``) of shape
                ``(2, h, w)`` each, unless ``mask_generator`` draws them.

        Returns:
            ``loss_mim`` and ``loss_con``, each already weighted.
        """
        if not isinstance(inputs, (list, tuple)) or len(inputs) != 2:
            raise ValueError('SymMIM expects two augmented views per sample '
                             '(MultiView(num_views=[1, 1], ...))')
        check_batch_size(self, inputs[0].shape[0], get_world_size(),
                         key='images in the batch')
        masks, ema_masks = self.draw_masks(inputs[0], data_samples)
        query_views = [0, 1] if self.symmetric else [0]
        key_views = [1 - v for v in query_views]

        cls, loss_mim = self.encode_and_reconstruct(
            torch.cat([inputs[v] for v in query_views]),
            torch.cat([masks[v] for v in query_views]))
        if self.con_loss_weight == 0:  # MIM branch alone: no EMA, no keys
            return dict(loss_mim=self.mim_loss_weight * loss_mim)
        queries = self.project(cls, len(query_views))

        self.update_momentum_encoder()
        keys = self.momentum_keys(
            [inputs[v] for v in key_views],
            None if ema_masks is None else [ema_masks[v] for v in key_views])
        loss_con = sum(self.head.loss(q, k) for q, k in zip(queries, keys))
        return dict(
            loss_mim=self.mim_loss_weight * loss_mim,
            loss_con=self.con_loss_weight * loss_con)
