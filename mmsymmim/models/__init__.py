from .algorithms import SymMIM
from .backbones import SymMIMViT

__all__ = ['SymMIM', 'SymMIMViT']
