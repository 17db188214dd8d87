"""The smallest batch a model trains on, named before the first step.

One image per process fails deep inside torch (``Expected more than 1 value
per channel when training``) when a projector or predictor holds BatchNorm;
MixMask would fill an image from itself; a contrastive loss would have no
negative. :func:`check_batch_size` turns each into one line naming
``train_dataloader.batch_size``, the value given and the minimum.
``tools/train.py`` calls it once the model is built, before the first step.

A model states its own limits with ``batch_limits()``: a list of
``(minimum, reason, per_process)``; ``per_process=False`` counts the images
of all processes (e.g. keys gathered across ranks). BatchNorm in ``neck`` or
``head`` (the layers that see one vector per image) is found here.
"""
from typing import List, Tuple

from torch.nn import SyncBatchNorm
from torch.nn.modules.batchnorm import _BatchNorm

from .gloo_sync_batchnorm import GlooSyncBatchNorm

KEY = 'train_dataloader.batch_size'
Limit = Tuple[int, str, bool]


def batch_limits(model) -> List[Limit]:
    limits = list(model.batch_limits()) if hasattr(model, 'batch_limits') \
        else []
    for part in ('neck', 'head'):
        module = getattr(model, part, None)
        if module is None:
            continue
        for name, m in module.named_modules():
            if isinstance(m, _BatchNorm):
                where = f'{part}.{name}' if name else part
                # SyncBN's statistics are over the images of all processes
                sync = isinstance(m, (SyncBatchNorm, GlooSyncBatchNorm))
                limits.append((2, f'BatchNorm in `{where}` (one vector per '
                               'image) has no batch statistics with one '
                               'image', not sync))
                break
    return limits


def check_batch_size(model, batch_size: int, world_size: int = 1,
                     key: str = KEY) -> None:
    """ValueError, one line with every reason, if ``batch_size`` images per
    process (of ``world_size`` processes) are too few for ``model``."""
    failed = [(minimum, reason, per_process)
              for minimum, reason, per_process in batch_limits(model)
              if (batch_size if per_process else batch_size * world_size)
              < minimum]
    if not failed:
        return
    minimum = max(f[0] for f in failed)
    scope = ('per process' if any(f[2] for f in failed) else
             f'in all {world_size} process(es) together')
    raise ValueError(
        f'{type(model).__name__}: `{key}`={batch_size} is too small: '
        f"{'; '.join(f[1] for f in failed)}. Allowed: at least {minimum} "
        f'images {scope} (and drop_last=True, so the last batch of an epoch '
        f'is not smaller)')
