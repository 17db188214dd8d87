"""mmseg parts: ``import mmsymmim.downstream.seg`` (the backbone is
mmpretrain's ``VisionTransformer``; only the layer-decay constructor is
added, and the hook that checks the checkpoint was loaded)."""
from ..layer_decay import BackboneLayerDecayOptimWrapperConstructor
from ..pretrained_check import PretrainedCheckHook, check_backbone_loaded

__all__ = [
    'BackboneLayerDecayOptimWrapperConstructor', 'PretrainedCheckHook',
    'check_backbone_loaded'
]
