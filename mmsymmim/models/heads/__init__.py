from .fast_mocov3_head import FastMoCoV3Head
from .weighted_heads import WeightedContrastiveHead, WeightedLatentPredictHead

__all__ = [
    'FastMoCoV3Head', 'WeightedContrastiveHead', 'WeightedLatentPredictHead'
]
