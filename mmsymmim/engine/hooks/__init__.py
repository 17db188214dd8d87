from .knn_eval_hook import KNNEvalHook
from .loss_guard_hook import LossGuardHook

__all__ = ['KNNEvalHook', 'LossGuardHook']
