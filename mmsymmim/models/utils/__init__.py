from .batch_augments import DeviceViewAugment, MixMask
from .foreach_ema import ForeachCosineEMA
from .gloo_sync_batchnorm import GlooSyncBatchNorm
from .split_batch_norm import SplitBatchNorm
from .view_aug_data_preprocessor import ViewAugDataPreprocessor

__all__ = [
    'DeviceViewAugment', 'ForeachCosineEMA', 'GlooSyncBatchNorm', 'MixMask',
    'SplitBatchNorm', 'ViewAugDataPreprocessor'
]
