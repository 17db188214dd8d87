"""The transfer study's plan: which of the equal-compute study's rows it
pretrains and fine-tunes (label, encoder family, seeds), and the scene
config of each task for each encoder family.

A row with a ``source`` pretrains nothing: it fine-tunes the source row's
checkpoint of the same seed, loading the tensors under ``prefix`` instead
of the scene config's ``backbone.`` (a diagnostic: which of the
checkpoint's encoders transfers)."""
from collections import namedtuple

from ..rows import ROWS

# row of the equal-compute study -> label, encoder family, the seeds it
# runs (and, for a row that reads another's checkpoint, that row and the
# checkpoint prefix of the encoder it loads)
Plan = namedtuple('Plan', 'label family seeds source prefix',
                  defaults=(None, None))
PLAN = {
    'symmim-asymmetric': Plan('SymMIM default', 'vit', (0, 1, 2)),
    'mae': Plan('MAE', 'vit', (0, 1, 2)),
    'random-init': Plan('random init (ViT)', 'vit', (0, 1, 2)),
    'mixmask-mocov2': Plan('MixMask-MoCo v2', 'resnet', (0, 1, 2)),
    'mocov2': Plan('MoCo v2', 'resnet', (0, 1, 2)),
    'random-init-resnet': Plan('random init (ResNet)', 'resnet', (0, 1, 2)),
    'symmim-random-asym': Plan('SymMIM, random 50 % mask', 'vit', (0, )),
    'mocov3': Plan('MoCo v3', 'vit', (0, )),
    # SymMIM's momentum (EMA) encoder: its online encoder's average, fed
    # the coarse board during pretraining
    'symmim-asymmetric-ema': Plan(
        'SymMIM default, momentum encoder', 'vit', (0, ),
        source='symmim-asymmetric',
        prefix='momentum_encoder.module.backbone.'),
}
# task -> scene config per encoder family
TASKS = {
    'det': {
        'vit': 'configs/symmim/benchmarks/'
        'mask-rcnn_vit-tiny-p4_simple-fpn_1xb8-800i_fmnist-scenes.py',
        'resnet': 'configs/mixmask/benchmarks/'
        'mask-rcnn_resnet18-tiny_fpn_1xb8-800i_fmnist-scenes.py',
    },
    'seg': {
        'vit': 'configs/symmim/benchmarks/'
        'upernet_vit-tiny-p4_1xb8-800i_fmnist-scenes.py',
        'resnet': 'configs/mixmask/benchmarks/'
        'upernet_resnet18-tiny_1xb8-800i_fmnist-scenes.py',
    },
}


def source(row: str) -> str:
    """The row whose pretraining ``row`` fine-tunes (itself, mostly)."""
    return PLAN[row].source or row


def pretrained(row: str) -> bool:
    """Whether the row has a pretraining (random inits do not)."""
    return ROWS[source(row)].train
