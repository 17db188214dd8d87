from .hooks import KNNEvalHook, LossGuardHook
from .optimizers import BackboneLayerDecayOptimWrapperConstructor

__all__ = [
    'BackboneLayerDecayOptimWrapperConstructor', 'KNNEvalHook', 'LossGuardHook'
]
