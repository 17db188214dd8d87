"""mmdet parts: ``import mmsymmim.downstream.det`` (needs mmdet)."""
from ..layer_decay import BackboneLayerDecayOptimWrapperConstructor
from .simple_feature_pyramid import LayerNorm2d, SimpleFeaturePyramid
from .vitdet import ViTDetBackbone, window_apply

__all__ = [
    'BackboneLayerDecayOptimWrapperConstructor', 'LayerNorm2d',
    'SimpleFeaturePyramid', 'ViTDetBackbone', 'window_apply'
]
