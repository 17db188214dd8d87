from .batch_augments import MixMask
from .foreach_ema import ForeachCosineEMA
from .gloo_sync_batchnorm import GlooSyncBatchNorm

__all__ = ['ForeachCosineEMA', 'GlooSyncBatchNorm', 'MixMask']
