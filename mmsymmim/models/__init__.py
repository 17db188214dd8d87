from . import det  # noqa: F401  registers into mmdet's registry
from . import utils  # noqa: F401
from .algorithms import (MixMaskBYOL, MixMaskMoCo, MixMaskSimSiam, SymMIM,
                         mixmask_loss)
from .backbones import SymMIMViT

__all__ = [
    'MixMaskBYOL', 'MixMaskMoCo', 'MixMaskSimSiam', 'SymMIM', 'SymMIMViT',
    'mixmask_loss'
]
