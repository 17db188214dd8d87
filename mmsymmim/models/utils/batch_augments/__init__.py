from .mixmask import MixMask

__all__ = ['MixMask']
