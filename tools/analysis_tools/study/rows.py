"""The rows of the equal-compute study (run.py small-scale): one pretraining
config per row and the edit that makes it (the knobs a row may turn:
knobs.py).

ViT rows share the ViT (width 128, depth 4, 4 heads, patch 4, 32 px), the data
(60,000 Fashion-MNIST train images, no labels), the augmentation of
``configs/_base_/fmnist_demo.py`` (RandomResizedCrop 0.35-1 + flip), batch 128
and the optimiser of the SymMIM demo (AdamW lr 1.5e-3, betas 0.9/0.95, wd
0.05); ResNet rows share the CIFAR-stem ResNet-18 and SGD of the MixMask demo.
Each row changes only what its name says.
"""
import copy
import os.path as osp
from collections import namedtuple

from mmengine.config import Config

from .knobs import KNOBS, RESNET_KNOBS, SYMMIM_KNOBS, apply_knobs, set_crop_min
from .paths import REPO

MASK_TOKEN_DEMO = osp.join(
    REPO, 'configs/symmim/symmim_vit-tiny-p4_mask-token_1xb128-400i_fmnist.py')
SYMMIM_DEMO = osp.join(
    REPO, 'configs/symmim/symmim_vit-tiny-p4_1xb128-400i_fmnist.py')
MIXMASK_DEMO = osp.join(
    REPO, 'configs/mixmask/mixmask-mocov2_resnet18-tiny_1xb128-400i_fmnist.py')

# family: 'vit', 'resnet' or 'pixels'; base: config file or None; edit:
# function(cfg) -> None for what the row changes; knobs: the KNOBS it has;
# train: pretrained (True) or evaluated as initialised (False)
Row = namedtuple('Row', 'family base edit knobs train doc')


def _two_views(cfg):
    return [dict(type='MultiView', num_views=2,
                 transforms=[copy.deepcopy(cfg.view_pipeline)])]


def _symmetric(cfg):
    """SymMIM with ``symmetric=True`` (both view orders a step): the demo's
    default until this study chose ``symmetric=False``, pinned here so the
    SymMIM rows and the budget (steps of ``symmim-visible``) stay what they
    were when the study ran."""
    cfg.model.symmetric = True


def _asymmetric(cfg):
    """SymMIM with ``symmetric=False`` (the demo's default since this study):
    view 1 is the query, view 2 the key (half the online work per step)."""
    cfg.model.symmetric = False


def _random_mask(cfg):
    """``symmim-visible`` (symmetric, visible-token path) whose online mask is
    mmpretrain's random ``SimMIMMaskGenerator`` at the board's granularity
    and ratio (one 4-px token per mask patch, exactly 32 of 64 masked; one
    mask shared by the two views) instead of the fine board; the EMA
    encoder keeps its 2x2 board."""
    _symmetric(cfg)
    cfg.train_dataloader.dataset.pipeline = _two_views(cfg) + [
        dict(type='SymmetricMaskGenerator', input_size=32, model_patch_size=4,
             scale=1, ema_scale=2),
        dict(type='SimMIMMaskGenerator', input_size=32, mask_patch_size=4,
             model_patch_size=4, mask_ratio=0.5),
        dict(type='PackInputs', algorithm_keys=['ema_mask']),
    ]


def _random_mask_asymmetric(cfg):
    """``symmim-random-0.5``'s random 50 % online mask on the default
    one-order loss (``symmetric=False``): the board-vs-random comparison on
    the default, same path, same loss."""
    _random_mask(cfg)
    _asymmetric(cfg)


def _mae(cfg):
    """mmpretrain's MAE: MAEViT (same ViT, mask ratio 0.75), a decoder as
    light as SymMIM's visible-path one (read from its config),
    MAEPretrainHead with MAE's own loss (L2 on per-patch normalised pixels);
    one view."""
    m = cfg.model
    dec = Config.fromfile(SYMMIM_DEMO).model.mim_neck
    cfg.train_dataloader.dataset.pipeline = [
        *copy.deepcopy(cfg.view_pipeline), dict(type='PackInputs')]
    cfg.model = dict(
        type='MAE',
        data_preprocessor=m.data_preprocessor,
        backbone=dict(type='MAEViT', arch=m.backbone.arch, img_size=32,
                      patch_size=4, mask_ratio=0.75),
        neck=dict(type='MAEPretrainDecoder', num_patches=64, patch_size=4,
                  in_chans=3, embed_dim=m.backbone.arch.embed_dims,
                  decoder_embed_dim=dec.decoder_embed_dim,
                  decoder_depth=dec.decoder_depth,
                  decoder_num_heads=dec.decoder_num_heads,
                  mlp_ratio=dec.mlp_ratio),
        head=dict(type='MAEPretrainHead', norm_pix=True, patch_size=4,
                  loss=dict(type='PixelReconstructionLoss', criterion='L2')))


def _mocov3(cfg):
    """mmpretrain's MoCoV3 on the same ViT, projector, predictor and
    temperature as SymMIM's contrastive branch; no masks, no decoder."""
    m = cfg.model
    cfg.train_dataloader.dataset.pipeline = _two_views(cfg) + [
        dict(type='PackInputs')]
    cfg.model = dict(
        type='MoCoV3', data_preprocessor=m.data_preprocessor,
        base_momentum=m.base_momentum,
        backbone=dict(type='MoCoV3ViT', arch=m.backbone.arch, img_size=32,
                      patch_size=4),
        neck=m.neck, head=m.head)


def _resnet_start(cfg):
    """The ResNet rows' starting recipe, pinned here (the MixMask demo's
    before --stage resnet-recipe; KNOBS holds its values), so the demo may
    take the recipe the study found without changing the study's rows: SGD
    lr 0.06, queue 4096, EMA momentum 0.01, temperature 0.2, crops 0.35-1,
    plain BatchNorm."""
    m = cfg.model
    cfg.optim_wrapper.optimizer.lr = 0.06
    m.update(queue_len=KNOBS['queue_len'], momentum=KNOBS['momentum'])
    m.head.temperature = KNOBS['temperature']
    m.backbone.norm_cfg = dict(type='BN')
    set_crop_min(cfg, KNOBS['crop_min'])


def _mocov2(cfg):
    """mmpretrain's MoCo v2: the MixMask demo without the mixed view."""
    _resnet_start(cfg)
    m = cfg.model
    cfg.model = dict(
        type='MoCo', data_preprocessor=m.data_preprocessor,
        queue_len=m.queue_len, feat_dim=m.feat_dim, momentum=m.momentum,
        backbone=m.backbone, neck=m.neck,
        head=dict(type='ContrastiveHead', loss=dict(type='CrossEntropyLoss'),
                  temperature=m.head.temperature))


SYM = SYMMIM_KNOBS
RANDOM = SYMMIM_KNOBS + ('mask_ratio', )
ROWS = {
    'symmim-visible': Row('vit', SYMMIM_DEMO, _symmetric, SYM, True,
                          'SymMIM, symmetric=True (visible tokens, fine '
                          'board; the default before this study)'),
    'symmim-asymmetric': Row('vit', SYMMIM_DEMO, _asymmetric, SYM, True,
                             'SymMIM, symmetric=False (the default since '
                             'this study)'),
    'symmim-random-0.5': Row('vit', SYMMIM_DEMO, _random_mask, RANDOM, True,
                             'symmim-visible, random 50 % online mask'),
    'symmim-random-asym': Row('vit', SYMMIM_DEMO, _random_mask_asymmetric,
                              RANDOM, True, 'symmim-asymmetric, random 50 % '
                              'online mask'),
    'symmim-mask-token': Row('vit', MASK_TOKEN_DEMO, _symmetric,
                             ('lr', 'w_con', 'norm_target', 'momentum'), True,
                             'SymMIM, mask-token path (SimMIM-style)'),
    'mae': Row('vit', MASK_TOKEN_DEMO, _mae,
               ('lr', 'decoder_depth', 'mask_ratio'), True,
               "mmpretrain's MAE, mask 0.75"),
    'mocov3': Row('vit', MASK_TOKEN_DEMO, _mocov3, ('lr', 'momentum'), True,
                  "mmpretrain's MoCo v3"),
    'random-init': Row('vit', MASK_TOKEN_DEMO, None, (), False,
                       'ViT as initialised (SymMIMViT init)'),
    'raw-pixels': Row('pixels', None, None, (), False,
                      'normalised pixels, no encoder'),
    'mocov2': Row('resnet', MIXMASK_DEMO, _mocov2, RESNET_KNOBS, True,
                  "mmpretrain's MoCo v2"),
    'mixmask-mocov2': Row('resnet', MIXMASK_DEMO, _resnet_start, RESNET_KNOBS,
                          True,
                          'MixMask on MoCo v2'),
    'random-init-resnet': Row('resnet', MIXMASK_DEMO, _resnet_start, (), False,
                              'ResNet as initialised'),
}
# rows that take another row's tuned recipe instead of a tuning of their own
# (added after the 1x tuning; same path and loss as the row they follow)
TUNED_AS = {'symmim-random-asym': 'symmim-asymmetric'}
ENCODER = {'vit': 'ViT 128x4', 'resnet': 'ResNet-18/16', 'pixels': '-'}


def row_config(row: str, knobs: dict = None) -> Config:
    """The pretraining config of ``row`` with ``knobs`` applied (unset knobs
    keep the row's defaults); no evaluation hook (the study evaluates
    itself)."""
    if row not in ROWS:
        raise KeyError(f'unknown row {row!r}; rows: {sorted(ROWS)}')
    spec = ROWS[row]
    if spec.base is None:
        raise ValueError(f'{row} has no pretraining config')
    extra = set(knobs or {}) - set(spec.knobs)
    if extra:
        raise KeyError(f'{row} has no knob(s) {sorted(extra)}; its knobs: '
                       f'{list(spec.knobs)}')
    cfg = Config.fromfile(spec.base)
    if spec.edit is not None:
        spec.edit(cfg)
    apply_knobs(cfg, {k: v for k, v in (knobs or {}).items()
                      if v != KNOBS[k]})
    cfg.custom_hooks = []
    return cfg
