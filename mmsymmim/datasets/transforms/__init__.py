from .loading import SafeLoadImageFromFile
from .symmetric_mask import SymmetricMaskGenerator, checkerboard_mask

__all__ = [
    'SafeLoadImageFromFile', 'SymmetricMaskGenerator', 'checkerboard_mask'
]
