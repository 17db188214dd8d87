from .symmetric_mask import SymmetricMaskGenerator, checkerboard_mask

__all__ = ['SymmetricMaskGenerator', 'checkerboard_mask']
