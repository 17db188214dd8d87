"""Where SymMIM's masks come from, as ``(views, B, h, w)`` bool tensors.

Two sources, one of them per config:

* the data pipeline: ``SymmetricMaskGenerator`` in the train pipeline writes
  ``mask`` (and ``ema_mask``) into every data sample, as mmpretrain's SimMIM
  masks travel (:func:`masks_from_samples`);
* the model: ``SymMIM(mask_generator=...)`` draws the whole batch's masks on
  the model's device inside ``loss()`` (:func:`draw_step_masks`), with no
  per-sample masks to collate and copy.
"""
from typing import List, Optional, Tuple

import torch

from mmpretrain.structures import DataSample


def masks_from_samples(data_samples: List[DataSample], key: str,
                       num_views: int) -> torch.Tensor:
    """Stack per-sample masks into ``(V, B, h, w)``.

    Each sample holds ``(V, h, w)`` (one mask per view, as
    :class:`SymmetricMaskGenerator` writes) or ``(h, w)``, which is shared
    by all views (e.g. mmpretrain's ``SimMIMMaskGenerator``).
    """
    if not all(key in ds for ds in data_samples):
        hint = ('SymmetricMaskGenerator(...)' if key == 'mask' else
                "SymmetricMaskGenerator(ema_scale=...) and "
                "PackInputs(algorithm_keys=['ema_mask'])")
        raise KeyError(f'SymMIM needs `{key}` in every data sample: add '
                       f'{hint} to the train pipeline')
    masks = torch.stack([ds.get(key) for ds in data_samples])
    if masks.dim() == 3:  # one (h, w) mask per sample: shared by views
        masks = masks.unsqueeze(1).expand(-1, num_views, -1, -1)
    if masks.shape[1] != num_views:
        raise ValueError(f'SymMIM: `{key}` holds {masks.shape[1]} view(s) '
                         f'per sample but the batch has {num_views}')
    return masks.transpose(0, 1)


def draw_step_masks(mask_generator, ema_masked: bool, x: torch.Tensor,
                    data_samples: List[DataSample]
                    ) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
    """Online and EMA masks of a two-view step, each ``(2, B, h, w)`` (EMA:
    None if the momentum encoder sees full views): from the data samples
    when ``mask_generator`` is None, else drawn by it on ``x``'s device."""
    if mask_generator is None:
        masks = masks_from_samples(data_samples, 'mask', 2)
        ema = (masks_from_samples(data_samples, 'ema_mask', 2)
               if ema_masked else None)
        return masks, ema
    if data_samples and 'mask' in data_samples[0]:
        raise ValueError(
            'SymMIM: masks come both from the data pipeline and from '
            '`mask_generator`; remove one of them')
    masks, ema = mask_generator.draw(x.shape[0], 2, x.device)
    if ema_masked and ema is None:
        raise ValueError('SymMIM(ema_masked=True) needs `ema_scale` in '
                         '`mask_generator`')
    return masks.transpose(0, 1), (ema.transpose(0, 1)
                                   if ema_masked else None)
