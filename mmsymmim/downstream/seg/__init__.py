"""mmseg parts: ``import mmsymmim.downstream.seg`` (the backbone is
mmpretrain's ``VisionTransformer``; only the layer-decay constructor is
added)."""
from ..layer_decay import BackboneLayerDecayOptimWrapperConstructor

__all__ = ['BackboneLayerDecayOptimWrapperConstructor']
