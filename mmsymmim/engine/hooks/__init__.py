from .knn_eval_hook import KNNEvalHook
from .loss_guard_hook import LossGuardHook
from .reconstruction_hook import ReconstructionVisHook

__all__ = ['KNNEvalHook', 'LossGuardHook', 'ReconstructionVisHook']
