from .mixmask_siamese import (MixMaskBYOL, MixMaskMoCo, MixMaskSimSiam,
                              mixmask_loss)
from .symmim import SymMIM

__all__ = [
    'MixMaskBYOL', 'MixMaskMoCo', 'MixMaskSimSiam', 'SymMIM', 'mixmask_loss'
]
