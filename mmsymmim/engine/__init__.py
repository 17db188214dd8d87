from . import (
    checkpoint_safety,  # noqa: F401  atomic writes, architecture guard
    worker_lifetime,  # noqa: F401  loader workers die with the trainer
)
from .hooks import CheckpointHook, KNNEvalHook, LossGuardHook

__all__ = ['CheckpointHook', 'KNNEvalHook', 'LossGuardHook']
