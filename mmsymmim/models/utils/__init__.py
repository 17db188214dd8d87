from .fast_mocov3_head import FastMoCoV3Head
from .foreach_ema import ForeachCosineEMA

__all__ = ['FastMoCoV3Head', 'ForeachCosineEMA']
