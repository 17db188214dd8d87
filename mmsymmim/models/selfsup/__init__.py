from .mixmask import (
    MixMaskBYOL,
    MixMaskMixin,
    MixMaskMoCo,
    MixMaskMoCoV3,
    MixMaskSimSiam,
    mixmask_loss,
)
from .symmim import SymMIM

__all__ = [
    'MixMaskBYOL', 'MixMaskMixin', 'MixMaskMoCo', 'MixMaskMoCoV3',
    'MixMaskSimSiam', 'SymMIM', 'mixmask_loss'
]
