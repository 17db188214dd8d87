from .data_check import check_train_data, find_data_problem
from .fashion_mnist import FashionMNISTIDX
from .transforms import SymmetricMaskGenerator, checkerboard_mask

__all__ = [
    'FashionMNISTIDX', 'SymmetricMaskGenerator', 'check_train_data',
    'checkerboard_mask', 'find_data_problem'
]
