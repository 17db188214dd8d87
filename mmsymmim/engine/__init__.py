from .hooks import KNNEvalHook
from .optimizers import BackboneLayerDecayOptimWrapperConstructor

__all__ = ['BackboneLayerDecayOptimWrapperConstructor', 'KNNEvalHook']
