"""The rows of the equal-compute study (small_scale_study.py): one
pretraining config per row, the knobs a row may turn, and the backbone config
the evaluation loads the checkpoint into.

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

from .paths import REPO

MASK_TOKEN_DEMO = osp.join(
    REPO, 'configs/symmim/symmim_vit-tiny-p4_mask-token_1xb128-400i_fmnist.py')
SYMMIM_DEMO = osp.join(
    REPO, 'configs/symmim/symmim_vit-tiny-p4_1xb128-400i_fmnist.py')
MIXMASK_DEMO = osp.join(
    REPO, 'configs/mixmask/mixmask-mocov2_resnet18-tiny_1xb128-400i_fmnist.py')

# knob -> default; 'lr' multiplies the base lr. Tuning (--stage tune) turns
# only 'lr' (LR_GRID); the others serve the diagnosis and the ResNet recipe.
KNOBS = {
    'lr': 1.0,
    'w_con': 1.0,          # SymMIM's contrastive weight (0: MIM branch alone)
    'norm_target': False,  # SymMIM: MAE's per-patch normalised target
    'decoder_depth': 1,
    'momentum': 0.01,      # EMA base momentum (1 - m)
    'queue_len': 4096,     # MoCo v2 / MixMask
    'crop_min': 0.35,      # RandomResizedCrop's smallest area fraction
    'temperature': 0.2,    # MoCo v2 / MixMask InfoNCE temperature
    'bn_splits': 1,        # ResNet BatchNorm groups (SplitBatchNorm if > 1)
    'steps': 0,            # diagnosis only: fixed iterations (0: the budget's)
    'mask_ratio': None,    # random-mask rows: masked share (None: the row's)
}
# the mask ratio a row has without the knob (the ratio axis: study_ratio.py)
OWN_RATIO = {'mae': 0.75, 'symmim-random-0.5': 0.5, 'symmim-random-asym': 0.5}
LR_GRID = (0.5, 1.0, 2.0)
SYMMIM_KNOBS = ('lr', 'w_con', 'norm_target', 'decoder_depth', 'momentum',
                'steps')
RESNET_KNOBS = ('lr', 'momentum', 'queue_len', 'crop_min', 'temperature',
                'bn_splits', 'steps')

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
    _set_crop_min(cfg, KNOBS['crop_min'])


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


def default_knobs(row: str) -> dict:
    """The row's knobs at their defaults (what its config already has)."""
    return {k: KNOBS[k] for k in ROWS[row].knobs}


def _set_crop_min(cfg, value: float) -> None:
    """Every RandomResizedCrop of the train pipeline (inside MultiView too)
    keeps ``value``..1 of the image area."""
    def visit(ts):
        for t in ts:
            if t['type'] == 'RandomResizedCrop':
                t['crop_ratio_range'] = (value, 1.)
            for inner in t.get('transforms', []):
                visit(inner if isinstance(inner, list) else [inner])
    visit(cfg.train_dataloader.dataset.pipeline)


def _set_mask_ratio(cfg, value: float) -> None:
    """MAE's ``MAEViT.mask_ratio`` or the random online mask's
    (``SimMIMMaskGenerator`` in the train pipeline)."""
    if not isinstance(value, float) or not 0 < value < 1:
        raise ValueError(f'knob mask_ratio must be a float in (0, 1), got '
                         f'{value!r}')
    if cfg.model.type == 'MAE':
        cfg.model.backbone.mask_ratio = value
        return
    gens = [t for t in cfg.train_dataloader.dataset.pipeline
            if t['type'] == 'SimMIMMaskGenerator']
    if len(gens) != 1:
        raise KeyError('knob mask_ratio needs MAE or one SimMIMMaskGenerator '
                       'in the train pipeline')
    gens[0]['mask_ratio'] = value


def ratio_knobs(row: str, ratio: float) -> dict:
    """The knob that sets ``row``'s mask ratio: none at the row's own ratio
    (so the run is the one the study already holds)."""
    if row not in OWN_RATIO:
        raise KeyError(f'{row} has no mask ratio; rows with one: '
                       f'{sorted(OWN_RATIO)}')
    return {} if ratio == OWN_RATIO[row] else dict(mask_ratio=float(ratio))


def apply_knobs(cfg, knobs: dict) -> None:
    """Set a row's knobs in its config (unknown knobs are errors)."""
    model = cfg.model
    for name, value in knobs.items():
        if name == 'lr':
            cfg.optim_wrapper.optimizer.lr *= value
        elif name == 'w_con':
            model.con_loss_weight = value
        elif name == 'norm_target':
            model.norm_target = value
        elif name == 'decoder_depth':
            neck = model.get('mim_neck') or model.neck
            neck.decoder_depth = value
        elif name == 'momentum':
            model['base_momentum' if 'base_momentum' in model
                  else 'momentum'] = value
        elif name == 'queue_len':
            model.queue_len = value
        elif name == 'temperature':
            model.head.temperature = value
        elif name == 'crop_min':
            _set_crop_min(cfg, value)
        elif name == 'bn_splits':  # one process normalising as N GPUs
            model.backbone.norm_cfg = dict(type='SplitBatchNorm',
                                           num_splits=value)
        elif name == 'steps':  # the training loop's length: study_stages
            pass
        elif name == 'mask_ratio':
            _set_mask_ratio(cfg, value)
        else:
            raise KeyError(f'unknown knob {name!r}; known: {sorted(KNOBS)}')


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


def fit_schedule(cfg, iters: int) -> None:
    """Linear warm-up over 10 % of ``iters`` (from 1e-3 of the lr up to the
    full lr, reached at the warm-up's last step), then cosine to 0: one
    schedule rule for every row, fitted to the iterations the budget
    allows. (mmengine's LinearLR reaches its end factor only at ``end``,
    hence ``end = warm + 1``: with ``end = warm`` a 1-step warm-up would
    leave the lr at 1e-3 of its value for the whole run.)"""
    warm = max(1, iters // 10)
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=iters)
    cfg.param_scheduler = [
        dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0,
             end=warm + 1),
        dict(type='CosineAnnealingLR', T_max=max(1, iters - warm - 1),
             by_epoch=False, begin=warm + 1, end=max(iters, warm + 2)),
    ]


def eval_backbone(row: str) -> dict:
    """The backbone config the checkpoint's ``backbone.*`` tensors are loaded
    into: mmpretrain's plain ``VisionTransformer`` giving every token after
    the final norm (``out_type='raw'``; the study reads the class token and
    the mean of the patch tokens from it), or the ResNet itself (average-
    pooled last stage)."""
    spec = ROWS[row]
    if spec.family == 'pixels':
        return dict(type='RawPixels', channels=1)
    cfg = row_config(row)
    bb = cfg.model.backbone
    if spec.family == 'resnet':
        return dict(bb.to_dict())
    return dict(type='VisionTransformer', arch=dict(bb.arch), img_size=32,
                patch_size=4, out_type='raw', final_norm=True,
                norm_cfg=dict(type='LN', eps=1e-6))


# ------------------------------------------------------- knobs and choice
def knob_tag(knobs: dict) -> str:
    """``lr=2.0,w_con=0.5`` for the knobs off their defaults; 'default'."""
    return ','.join(f'{k}={v}' for k, v in sorted(knobs.items())) or 'default'


def clean(knobs: dict) -> dict:
    """Knobs without those at their defaults (a run's identity)."""
    return {k: v for k, v in sorted(knobs.items()) if v != KNOBS[k]}


def recipe(results: dict, row: str) -> dict:
    """The knobs a row starts from: ResNet rows the recipe --stage
    resnet-recipe found (none before), other rows their defaults ({})."""
    spec = ROWS[row]
    if spec.family == 'resnet' and spec.train:
        return dict(results.get('resnet_recipe', {}).get('knobs', {}))
    return {}


def lr_knobs(results: dict, row: str, mult: float) -> dict:
    """The row's recipe with its lr multiplied by ``mult``."""
    base = recipe(results, row)
    return dict(base, lr=base.get('lr', 1.) * mult)


def budget_of(run: dict) -> float:
    """A run's budget as a multiple of the protocol's (runs of the first,
    1x study have no ``budget`` field)."""
    return run.get('budget', 1)


def wall_hours(runs: list) -> float:
    """Training plus evaluation wall hours of ``runs``, as measured (each
    under the load of its time)."""
    return sum(r.get('train_s', 0) + r.get('eval_s', 0) for r in runs) / 3600


def find_run(results: dict, row: str, seed: int, knobs: dict, budget=1):
    """The run of ``row`` at ``seed``, ``knobs`` (clean) and ``budget``
    that ``results`` holds, or None."""
    return next((r for r in results['runs'] if (
        r['row'], r['seed'], r['knobs'], budget_of(r)) == (
            row, seed, knobs, budget)), None)


def tune_runs(results: dict, row: str) -> list:
    """The row's --stage tune runs held in ``results``: seed 0, evaluated
    on validation, at lr x0.5 / 1 / 2 of its recipe, in that order; none
    for untrained rows and for ResNet rows before the recipe is found."""
    spec = ROWS[row]
    if not spec.train or (spec.family == 'resnet'
                          and 'resnet_recipe' not in results):
        return []
    found = []
    for m in LR_GRID:
        knobs = clean(lr_knobs(results, row, m))
        found += [r for r in results['runs']
                  if (r['row'], r['seed'], r['knobs']) == (row, 0, knobs)
                  and budget_of(r) == 1 and 'val' in r['evals']][:1]
    return found


def chosen_knobs(results: dict, row: str) -> dict:
    """The row's recipe (ResNet rows) with the lr that won --stage tune on
    the validation split; the recipe alone when not tuned; a row in
    TUNED_AS takes the choice of the row it follows."""
    row = TUNED_AS.get(row, row)
    tried = tune_runs(results, row)
    if not tried:
        return recipe(results, row)
    return max(tried, key=lambda r: tune_score(r['evals']['val'])
               )['knobs']  # first of equals: the smallest lr


def tune_score(val: dict) -> float:
    """What --stage tune maximises, from a run's validation metrics: the
    linear probe of the row's better readout (class token or mean of the
    patch tokens)."""
    return max(v for k, v in val.items() if k.startswith('linear'))
