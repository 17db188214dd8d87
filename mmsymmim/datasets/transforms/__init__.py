from .loading import SafeLoadImageFromFile
from .mixmask import MixMask
from .symmetric_mask import SymmetricMaskGenerator, checkerboard_mask

__all__ = [
    'MixMask', 'SafeLoadImageFromFile', 'SymmetricMaskGenerator',
    'checkerboard_mask'
]
