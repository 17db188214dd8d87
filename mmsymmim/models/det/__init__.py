from .simple_feature_pyramid import LayerNorm2d, SimpleFeaturePyramid
from .vitdet import ViTDetBackbone, window_apply

__all__ = ['LayerNorm2d', 'SimpleFeaturePyramid', 'ViTDetBackbone', 'window_apply']
