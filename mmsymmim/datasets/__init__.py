from .fashion_mnist import FashionMNISTIDX
from .transforms import MixMask, SymmetricMaskGenerator, checkerboard_mask

__all__ = [
    'FashionMNISTIDX', 'MixMask', 'SymmetricMaskGenerator', 'checkerboard_mask'
]
