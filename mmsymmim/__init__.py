"""mmsymmim: SymMIM and MixMask self-supervised pretraining for OpenMMLab.

``import mmsymmim`` registers the pretraining modules in mmpretrain's
registries and applies the fixes in ``mmsymmim.compat``. It needs neither
mmdet nor mmseg: the transfer parts are opt-in (``mmsymmim.downstream``).
"""
from . import compat  # noqa: F401  (first: fixes for the upstream stack)

# isort: split
from . import datasets, engine, evaluation, models  # noqa: F401

__version__ = '0.1.0'
