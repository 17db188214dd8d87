"""The rows of the equal-wall-clock study (small_scale_study.py): one
pretraining config per row, the knobs ``--tune`` may turn, and the backbone
config the evaluation loads the checkpoint into.

ViT rows share the ViT (width 128, depth 4, 4 heads, patch 4, 32 px), the data
(60,000 Fashion-MNIST train images, no labels), the augmentation of
``configs/_base_/fmnist_demo.py`` (RandomResizedCrop 0.35-1 + flip), batch 128
and the optimiser of the SymMIM demo (AdamW lr 1.5e-3, betas 0.9/0.95, wd
0.05); ResNet rows share the CIFAR-stem ResNet-18/16 and SGD of the MixMask
demo. Each row changes only what its name says.
"""
import copy
import itertools
import os.path as osp
import statistics
from collections import namedtuple

from mmengine.config import Config

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
MASK_TOKEN_DEMO = osp.join(
    REPO, 'configs/symmim/symmim_vit-tiny-p4_mask-token_1xb128-200i_fmnist.py')
SYMMIM_DEMO = osp.join(
    REPO, 'configs/symmim/symmim_vit-tiny-p4_1xb128-200i_fmnist.py')
MIXMASK_DEMO = osp.join(
    REPO, 'configs/mixmask/mixmask-mocov2_resnet18-tiny_1xb128-400i_fmnist.py')

# knob -> (default, values tried by --tune); 'lr' multiplies the base lr
KNOBS = {
    'lr': (1.0, (0.5, 1.0, 2.0)),
    'w_con': (1.0, (0.5, 1.0, 2.0)),
    'decoder_depth': (1, (1, 2)),
    'momentum': (0.01, (0.01, 0.004)),  # EMA base momentum (1 - m)
}

# family: 'vit', 'resnet' or 'pixels'; base: config file or None; edit:
# function(cfg) -> None for what the row changes; knobs: the KNOBS it has;
# train: pretrained (True) or evaluated as initialised (False)
Row = namedtuple('Row', 'family base edit knobs train doc')


def _two_views(cfg):
    return [dict(type='MultiView', num_views=2,
                 transforms=[copy.deepcopy(cfg.view_pipeline)])]


def _random_mask(cfg):
    """SymMIM (mask-token path) whose online mask is mmpretrain's random
    SimMIMMaskGenerator (8-px mask patches, ratio 0.5, shared by the two
    views) instead of the fine board; the EMA encoder keeps its 2x2 board."""
    cfg.train_dataloader.dataset.pipeline = _two_views(cfg) + [
        dict(type='SymmetricMaskGenerator', input_size=32, model_patch_size=4,
             scale=1, ema_scale=2),
        dict(type='SimMIMMaskGenerator', input_size=32, mask_patch_size=8,
             model_patch_size=4, mask_ratio=0.5),
        dict(type='PackInputs', algorithm_keys=['ema_mask']),
    ]


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


def _mocov2(cfg):
    """mmpretrain's MoCo v2: the MixMask demo without the mixed view."""
    m = cfg.model
    cfg.model = dict(
        type='MoCo', data_preprocessor=m.data_preprocessor,
        queue_len=m.queue_len, feat_dim=m.feat_dim, momentum=m.momentum,
        backbone=m.backbone, neck=m.neck,
        head=dict(type='ContrastiveHead', loss=dict(type='CrossEntropyLoss'),
                  temperature=m.head.temperature))


EMA = ('lr', 'w_con', 'momentum')
ROWS = {
    'symmim-visible': Row('vit', SYMMIM_DEMO, None,
                          ('lr', 'w_con', 'decoder_depth', 'momentum'), True,
                          'SymMIM, visible-token path (MAE-style encoder)'),
    'symmim-mask-token': Row('vit', MASK_TOKEN_DEMO, None, EMA, True,
                             "SymMIM, mask-token path (the paper's)"),
    'symmim-random-0.5': Row('vit', MASK_TOKEN_DEMO, _random_mask, EMA, True,
                             'SymMIM mask-token, random mask 0.5'),
    'mae': Row('vit', MASK_TOKEN_DEMO, _mae, ('lr', 'decoder_depth'), True,
               "mmpretrain's MAE, mask 0.75"),
    'mocov3': Row('vit', MASK_TOKEN_DEMO, _mocov3, ('lr', 'momentum'), True,
                  "mmpretrain's MoCo v3"),
    'random-init': Row('vit', MASK_TOKEN_DEMO, None, (), False,
                       'ViT as initialised (SymMIMViT init)'),
    'raw-pixels': Row('pixels', None, None, (), False,
                      'normalised pixels, no encoder'),
    'mocov2': Row('resnet', MIXMASK_DEMO, _mocov2, ('lr', 'momentum'), True,
                  "mmpretrain's MoCo v2"),
    'mixmask-mocov2': Row('resnet', MIXMASK_DEMO, None, ('lr', 'momentum'),
                          True, 'MixMask on MoCo v2'),
    'random-init-resnet': Row('resnet', MIXMASK_DEMO, None, (), False,
                              'ResNet as initialised'),
}
ENCODER = {'vit': 'ViT 128x4', 'resnet': 'ResNet-18/16', 'pixels': '-'}


def default_knobs(row: str) -> dict:
    return {k: KNOBS[k][0] for k in ROWS[row].knobs}


def apply_knobs(cfg, knobs: dict) -> None:
    """Set a row's knobs in its config (unknown knobs are errors)."""
    model = cfg.model
    for name, value in knobs.items():
        if name == 'lr':
            cfg.optim_wrapper.optimizer.lr *= value
        elif name == 'w_con':
            model.con_loss_weight = value
        elif name == 'decoder_depth':
            neck = model.get('mim_neck') or model.neck
            neck.decoder_depth = value
        elif name == 'momentum':
            model['base_momentum' if 'base_momentum' in model
                  else 'momentum'] = value
        else:
            raise KeyError(f'unknown knob {name!r}')


def row_config(row: str, knobs: dict = None) -> Config:
    """The pretraining config of ``row`` with ``knobs`` applied (default
    knobs if None); no evaluation hook (the study evaluates itself)."""
    spec = ROWS[row]
    if spec.base is None:
        raise ValueError(f'{row} has no pretraining config')
    cfg = Config.fromfile(spec.base)
    if spec.edit is not None:
        spec.edit(cfg)
    knobs = default_knobs(row) if knobs is None else knobs
    extra = set(knobs) - set(spec.knobs)
    if extra:
        raise KeyError(f'{row} has no knob(s) {sorted(extra)}')
    apply_knobs(cfg, knobs)
    cfg.custom_hooks = []
    return cfg


def fit_schedule(cfg, iters: int) -> None:
    """Linear warm-up over 10 % of ``iters``, then cosine to 0: one schedule
    rule for every row, fitted to the iterations the budget allows."""
    warm = max(1, iters // 10)
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=iters)
    cfg.param_scheduler = [
        dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0,
             end=warm),
        dict(type='CosineAnnealingLR', T_max=max(1, iters - warm),
             by_epoch=False, begin=warm, end=iters),
    ]


def eval_backbone(row: str) -> dict:
    """The backbone config the checkpoint's ``backbone.*`` tensors are loaded
    into: mmpretrain's plain ``VisionTransformer`` (class token after the
    final norm; LayerNorm eps as in pretraining) or the ResNet itself
    (average-pooled last stage)."""
    spec = ROWS[row]
    if spec.family == 'pixels':
        return dict(type='RawPixels', channels=1)
    cfg = row_config(row)
    bb = cfg.model.backbone
    if spec.family == 'resnet':
        return dict(bb.to_dict())
    return dict(type='VisionTransformer', arch=dict(bb.arch), img_size=32,
                patch_size=4, out_type='cls_token', final_norm=True,
                norm_cfg=dict(type='LN', eps=1e-6))


# ------------------------------------------------ tuning and reporting
def knob_tag(knobs: dict) -> str:
    """``lr=1.0,w_con=0.5``; '-' for none."""
    return ','.join(f'{k}={v}' for k, v in knobs.items()) or '-'


def tune_trials(row: str, score, grid: str = 'coordinate') -> dict:
    """Best knobs of ``row`` by ``score(knobs)`` (higher is better).

    'coordinate': from the defaults, each knob in turn (lr, w_con,
    decoder_depth, momentum) tries its other values with the others at the
    best so far. 'full': every combination."""
    names = ROWS[row].knobs
    if grid == 'full':
        trials = [dict(zip(names, vs))
                  for vs in itertools.product(*(KNOBS[k][1] for k in names))]
        return max(trials, key=score)  # first of equals wins
    best = default_knobs(row)
    best_score = score(best)
    for name in names:
        for value in KNOBS[name][1]:
            trial = dict(best, **{name: value})
            if trial != best and score(trial) > best_score:
                best, best_score = trial, score(trial)
    return best


def best_knobs(results, row):
    """The tried knobs with the best validation linear probe (the first of
    equals); the defaults when ``row`` was not tuned."""
    done = [r for r in results['tune'] if r['row'] == row]
    if not done:
        return default_knobs(row)
    return max(done, key=lambda r: r['val_linear'])['knobs']


def cell(values):
    """``mean ± sample std (v1, v2, ...)``."""
    if not values:
        return ''
    std = statistics.stdev(values) if len(values) > 1 else 0.
    return (f'{statistics.mean(values):.2f} ± {std:.2f} ('
            + ', '.join(f'{v:.2f}' for v in values) + ')')


def table(results, rows) -> str:
    """Markdown: the main runs of each row's chosen knobs, then the tuning
    runs."""
    lines = ['| row | encoder | knobs | iters | train s | s/iter | k-NN top-1 '
             '| linear top-1 | 1 % fine-tune top-1 | seeds |',
             '|---|---|---|---|---|---|---|---|---|---|']
    if not results['runs']:
        lines = []
    for row in rows:
        knobs = best_knobs(results, row)  # runs of other knobs: stale
        rs = sorted((r for r in results['runs']
                     if r['row'] == row and r['knobs'] == knobs),
                    key=lambda r: r['seed'])
        if not rs:
            continue
        mean = lambda k: statistics.mean(r.get(k, 0) or 0 for r in rs)  # noqa
        lines.append(
            f'| {row} | {ENCODER[ROWS[row].family]} | '
            f'{knob_tag(rs[0]["knobs"])} | {mean("iters"):.0f} | '
            f'{mean("train_s"):.0f} | {mean("s_per_iter"):.3f} | '
            + ' | '.join(cell([r[k] for r in rs])
                         for k in ('knn', 'linear', 'finetune')) +
            f' | {",".join(str(r["seed"]) for r in rs)} |')
    if results['tune']:
        lines += ['' if lines else '(no main runs yet)\n',
                  '| tune (seed 0) | knobs | iters | val k-NN | val linear | '
                  'chosen |', '|---|---|---|---|---|---|']
        for row in rows:
            best = best_knobs(results, row)
            for r in (r for r in results['tune'] if r['row'] == row):
                lines.append(
                    f'| {row} | {knob_tag(r["knobs"])} | {r["iters"]} | '
                    f'{r["val_knn"]:.2f} | {r["val_linear"]:.2f} | '
                    f'{"yes" if r["knobs"] == best else ""} |')
    return '\n'.join(lines)
