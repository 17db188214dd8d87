from .hooks import KNNEvalHook

__all__ = ['KNNEvalHook']
