from .device_view_augment import DeviceViewAugment
from .mixmask import MixMask

__all__ = ['DeviceViewAugment', 'MixMask']
