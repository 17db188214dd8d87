from .checkpoint_hook import CheckpointHook
from .knn_eval_hook import KNNEvalHook
from .loss_guard_hook import LossGuardHook
from .neighbours_hook import NeighboursVisHook
from .reconstruction_hook import ReconstructionVisHook
from .rng_state_hook import RNGStateHook

__all__ = ['CheckpointHook', 'KNNEvalHook', 'LossGuardHook',
           'NeighboursVisHook', 'ReconstructionVisHook', 'RNGStateHook']
