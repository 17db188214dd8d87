from . import checkpoint_safety  # noqa: F401  atomic writes, architecture guard
from .hooks import KNNEvalHook, LossGuardHook

__all__ = ['KNNEvalHook', 'LossGuardHook']
