"""mmdet parts: ``import mmsymmim.downstream.det`` (needs mmdet)."""
from ..layer_decay import BackboneLayerDecayOptimWrapperConstructor
from ..pretrained_check import PretrainedCheckHook, check_backbone_loaded
from .pyramid_check import PyramidStrideCheckHook, check_pyramid_strides
from .simple_feature_pyramid import LayerNorm2d, SimpleFeaturePyramid
from .vitdet import ViTDetBackbone, window_apply

__all__ = [
    'BackboneLayerDecayOptimWrapperConstructor', 'LayerNorm2d',
    'PretrainedCheckHook', 'PyramidStrideCheckHook',
    'SimpleFeaturePyramid', 'check_backbone_loaded',
    'ViTDetBackbone', 'check_pyramid_strides', 'window_apply'
]
