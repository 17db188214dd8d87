from . import checkpoint_safety  # noqa: F401  atomic writes, architecture guard
from .hooks import CheckpointHook, KNNEvalHook, LossGuardHook

__all__ = ['CheckpointHook', 'KNNEvalHook', 'LossGuardHook']
