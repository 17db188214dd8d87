"""Run-time workarounds for the upstream OpenMMLab stack, one file each.

Each module says what it fixes, why, and when to drop it. Install-time
workarounds (mmcv's C++20 build flag, the pins) live in ``tools/setup.sh``;
what mmsymmim adds on purpose (atomic checkpoint writes, the
wrong-architecture guard) is a feature: ``mmsymmim/engine/checkpoint_safety``.

* ``resume_state``: resume under torch's ``weights_only=True`` default.
* ``mmcv_hue``: mmcv's hue jitter under NumPy 2.
* ``cpu_distributed``: torchrun / DDP / SyncBN on CPU with gloo.
* ``collate_scope``: ``collate_fn`` of configs with an ``mmpretrain::`` base.
"""
from . import collate_scope, cpu_distributed, mmcv_hue, resume_state  # noqa: F401
