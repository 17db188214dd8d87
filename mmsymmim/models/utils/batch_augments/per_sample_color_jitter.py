"""kornia's ColorJitter with the order of its four steps drawn per image.

kornia draws one order of (brightness, contrast, saturation, hue) per call,
i.e. per batch; mmpretrain's CPU ``ColorJitter`` (torchvision's) draws one
per image. This subclass keeps kornia's factors and maths and draws the
order per image: step s applies, to each image, the operation its own
permutation puts at s. The loop is over the 4 x 4 (step, operation) pairs,
never over the batch; each operation runs only on the images that take it at
that step, so the cost stays four operations per image.
"""
import math
from typing import Any, Dict, Optional, Tuple

import torch
from kornia.augmentation import ColorJitter
from kornia.enhance import (
    adjust_brightness_accumulative,
    adjust_contrast_with_mean_subtraction,
    adjust_hue,
    adjust_saturation_with_gray_subtraction,
)

FACTOR_KEYS = ('brightness_factor', 'contrast_factor', 'saturation_factor',
               'hue_factor')


def _hue_turns(img: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    # mmcv's hue factor is a fraction of a turn, kornia's an angle
    return adjust_hue(img, factor * 2 * math.pi)


STEPS = (adjust_brightness_accumulative, adjust_contrast_with_mean_subtraction,
         adjust_saturation_with_gray_subtraction, _hue_turns)


class PerSampleColorJitter(ColorJitter):
    """``kornia.augmentation.ColorJitter`` with a per-image step order.

    Input and output: ``(B, 3, H, W)`` RGB in [0, 1]. Same arguments as
    kornia's ``ColorJitter`` except ``order`` (always random per image).
    """

    def __init__(self, *args, **kwargs) -> None:
        if kwargs.get('order') is not None:
            raise ValueError('PerSampleColorJitter: `order` is drawn per '
                             'image; use kornia ColorJitter for a fixed one')
        super().__init__(*args, **kwargs)

    def generate_parameters(self,
                            batch_shape: Tuple[int, ...]) -> Dict[str, Any]:
        params = super().generate_parameters(batch_shape)
        # (B, 4): row i is image i's permutation of the four steps
        params['sample_order'] = torch.rand(batch_shape[0], 4).argsort(dim=1)
        return params

    def apply_transform(self,
                        input: torch.Tensor,
                        params: Dict[str, torch.Tensor],
                        flags: Dict[str, Any],
                        transform: Optional[torch.Tensor] = None
                        ) -> torch.Tensor:
        out = input.clamp(0, 1)  # a new tensor: written in place below
        # the order is drawn on the CPU: select there, so a GPU batch
        # never waits for a device-to-host copy of the indices
        order = params['sample_order'].cpu()
        factors = [params[k].to(out) for k in FACTOR_KEYS]
        for step in range(4):
            for op, fn in enumerate(STEPS):
                idx = (order[:, step] == op).nonzero().squeeze(1)
                if idx.numel():
                    idx = idx.to(out.device, non_blocking=True)
                    out.index_copy_(0, idx, fn(out[idx], factors[op][idx]))
        return out.clamp(0, 1)
