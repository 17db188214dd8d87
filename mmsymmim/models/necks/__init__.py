from .symmim_decoder import SymMIMDecoder

__all__ = ['SymMIMDecoder']
