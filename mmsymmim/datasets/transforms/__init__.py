from .mixmask import MixMask
from .symmetric_mask import SymmetricMaskGenerator, checkerboard_mask

__all__ = ['MixMask', 'SymmetricMaskGenerator', 'checkerboard_mask']
