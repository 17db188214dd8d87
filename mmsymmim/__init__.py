"""mmsymmim: SymMIM and MixMask self-supervised pretraining for OpenMMLab.

``import mmsymmim`` registers every module in mmpretrain's registries.
"""
from . import compat  # noqa: F401  (first: fixes for the upstream stack)
from . import datasets, engine, evaluation, models  # noqa: F401

__version__ = '0.1.0'
