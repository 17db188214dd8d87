from .fashion_mnist import FashionMNISTIDX
from .transforms import SymmetricMaskGenerator, checkerboard_mask

__all__ = ['FashionMNISTIDX', 'SymmetricMaskGenerator', 'checkerboard_mask']
