"""The knobs a study row may turn, their defaults, and how each reaches a
row's config; a run's identity is its knobs off their defaults (``clean``,
``knob_tag``)."""

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
# the mask ratio a row has without the knob (the ratio axis: ratio.py)
OWN_RATIO = {'mae': 0.75, 'symmim-random-0.5': 0.5, 'symmim-random-asym': 0.5}
LR_GRID = (0.5, 1.0, 2.0)
SYMMIM_KNOBS = ('lr', 'w_con', 'norm_target', 'decoder_depth', 'momentum',
                'steps')
RESNET_KNOBS = ('lr', 'momentum', 'queue_len', 'crop_min', 'temperature',
                'bn_splits', 'steps')


def set_crop_min(cfg, value: float) -> None:
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
            set_crop_min(cfg, value)
        elif name == 'bn_splits':  # one process normalising as N GPUs
            model.backbone.norm_cfg = dict(type='SplitBatchNorm',
                                           num_splits=value)
        elif name == 'steps':  # the training loop's length: training.py
            pass
        elif name == 'mask_ratio':
            _set_mask_ratio(cfg, value)
        else:
            raise KeyError(f'unknown knob {name!r}; known: {sorted(KNOBS)}')


# ------------------------------------------------------- knobs and choice
def knob_tag(knobs: dict) -> str:
    """``lr=2.0,w_con=0.5`` for the knobs off their defaults; 'default'."""
    return ','.join(f'{k}={v}' for k, v in sorted(knobs.items())) or 'default'


def clean(knobs: dict) -> dict:
    """Knobs without those at their defaults (a run's identity)."""
    return {k: v for k, v in sorted(knobs.items()) if v != KNOBS[k]}
