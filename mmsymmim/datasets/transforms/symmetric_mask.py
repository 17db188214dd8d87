"""SymMIM's symmetric (checkerboard) mask.

Patch ``(i, j)`` of an ``H x W`` token grid is masked when::

    (floor(i / k) + floor(j / k) + phase) mod 2 == 1

``k`` is the block scale in tokens (k = 1: the fine board of single tokens;
k = 2 for ViT/16 gives 32-px blocks, the published setting for the momentum
encoder). Exactly half the tokens are masked when both sides of the grid
divide by ``2k``; otherwise the board is cut at the border and the count
depends on the phase (ViT-B/16 at 224 px: 14 x 14 tokens, k = 2 gives a 7 x 7
board of blocks, so 96 or 100 of 196 tokens). For k = 1 on an even grid every
masked token's left-right mirror is visible.

The phase, and where it departs from the paper: the paper prints the mask with
no phase, one fixed board (online encoder: patch ``(i, j)`` masked when
``(i + j) mod 2 = 1``; the coarse board likewise with ``floor(i / k)``).
``phase=0`` is exactly that printed board. ``phase=1`` is its complement.
``phase='random'``, the default here and in the configs, draws 0 or 1 per
image and view: **a departure from the printed formula**, our choice, so that
every position is a reconstruction target half of the time, where the fixed
board always hides the same half of the positions and never the other half.
Not measured against ``phase=0``. The same holds for ``ema_phase``.
"""
from numbers import Integral
from typing import List, Optional, Sequence, Tuple, Union

import torch
from mmcv.transforms import BaseTransform

from mmpretrain.registry import TRANSFORMS

PHASES = (0, 1, 'random')


def checkerboard_mask(grid: Tuple[int, int], scales: torch.Tensor,
                      phases: torch.Tensor) -> torch.Tensor:
    """Symmetric masks for a batch, without a Python loop over it.

    Args:
        grid: token grid ``(H, W)``.
        scales: ``(N,)`` integer block scales k, one per mask.
        phases: ``(N,)`` integer phases in {0, 1}, one per mask.

    Returns:
        ``(N, H, W)`` bool tensor on ``scales.device``; True = masked.
    """
    h, w = grid
    device = scales.device
    i = torch.arange(h, device=device).view(1, h, 1)
    j = torch.arange(w, device=device).view(1, 1, w)
    k = scales.view(-1, 1, 1)
    p = phases.view(-1, 1, 1)
    return (torch.div(i, k, rounding_mode='floor') +
            torch.div(j, k, rounding_mode='floor') + p) % 2 == 1


def _check_scales(owner: str, field: str, scale,
                  grid: Tuple[int, int]) -> List[int]:
    values = list(scale) if isinstance(scale, Sequence) else [scale]
    if not values or not all(
            isinstance(v, Integral) and not isinstance(v, bool) and v >= 1
            for v in values):
        raise ValueError(f'{owner}: `{field}` must be a positive int or a '
                         f'non-empty list of them, got {scale!r}')
    limit = min(grid) - 1
    too_big = [v for v in values if v > limit]
    if too_big:
        raise ValueError(
            f'{owner}: `{field}`={scale!r} is too large for the '
            f'{grid[0]}x{grid[1]} token grid: a block of {too_big[0]} tokens '
            f'leaves one block per side (all or nothing masked). Allowed '
            f'scales: 1..{limit}.')
    return [int(v) for v in values]


def _check_phase(owner: str, field: str, phase) -> Union[int, str]:
    """0 or 1 (a fixed board; 0 is the paper's printed one) or 'random'."""
    if isinstance(phase, str) and phase == 'random':
        return phase
    if (isinstance(phase, Integral) and not isinstance(phase, bool)
            and phase in (0, 1)):
        return int(phase)
    raise ValueError(
        f"{owner}: `{field}` must be 0 or 1 (a fixed board; 0 is the paper's "
        f"printed board, (i + j) mod 2 = 1 masked at k = 1) or 'random' "
        f'(drawn per image and view), got {phase!r}')


@TRANSFORMS.register_module()
class SymmetricMaskGenerator(BaseTransform):
    """Symmetric checkerboard masks for SymMIM, one per view of a sample.

    Put it after ``MultiView`` (or after a single-view pipeline). It adds
    ``results['mask']`` (online encoder) and, unless ``ema_scale`` is None,
    ``results['ema_mask']`` (momentum encoder): bool tensors of shape
    ``(V, H, W)`` for V views, or ``(H, W)`` for a single image; True = masked.
    Pack them with ``PackInputs(algorithm_keys=['ema_mask'])`` (``mask`` is
    packed by default), as mmpretrain's SimMIM masks travel.

    Args:
        input_size (int): image side in pixels (square inputs).
        model_patch_size (int): the ViT's patch size; must divide input_size.
        scale (int | list[int]): block scale k of the online mask, in tokens.
            A list is sampled uniformly per image and view. Defaults to 1
            (the paper's fine board).
        phase (0 | 1 | 'random'): board phase of the online mask. 0 is the
            paper's printed fixed board (``(i + j) mod 2 = 1`` masked at
            k = 1); 1 its complement; 'random' draws 0 or 1 per image and
            view, a departure from the printed formula (see the module
            docstring). Anything else is a ValueError. Defaults to 'random'.
        ema_scale (int | list[int] | None): block scale of the momentum
            encoder's mask; None gives no ``ema_mask``. Defaults to 2 (32 px
            blocks for ViT/16, the published setting).
        ema_phase (0 | 1 | 'random'): phase of the EMA mask, as ``phase``
            (0: the paper's printed fixed coarse board). Defaults to
            'random'.
    """

    def __init__(self,
                 input_size: int = 224,
                 model_patch_size: int = 16,
                 scale: Union[int, Sequence[int]] = 1,
                 phase: Union[int, str] = 'random',
                 ema_scale: Optional[Union[int, Sequence[int]]] = 2,
                 ema_phase: Union[int, str] = 'random') -> None:
        owner = type(self).__name__
        for name, v in (('input_size', input_size),
                        ('model_patch_size', model_patch_size)):
            if not isinstance(v, Integral) or v < 1:
                raise ValueError(f'{owner}: `{name}` must be a positive int, '
                                 f'got {v!r}')
        if input_size % model_patch_size:
            raise ValueError(
                f'{owner}: `input_size`={input_size} is not '
                f'divisible by `model_patch_size`={model_patch_size}; allowed '
                f'input sizes are multiples of {model_patch_size}.')
        self.input_size = input_size
        self.model_patch_size = model_patch_size
        self.grid = (input_size // model_patch_size, ) * 2
        self.scales = _check_scales(owner, 'scale', scale, self.grid)
        self.phase = _check_phase(owner, 'phase', phase)
        self.ema_scales = (None if ema_scale is None else _check_scales(
            owner, 'ema_scale', ema_scale, self.grid))
        self.ema_phase = _check_phase(owner, 'ema_phase', ema_phase)

    def sample(self, n: int, scales: List[int], phase,
               device=None) -> torch.Tensor:
        """``(n, H, W)`` bool masks on ``device``, block scale and phase drawn
        per mask with torch's RNG: the one sampler of both paths below."""
        table = torch.tensor(scales, device=device)
        k = table[torch.randint(len(scales), (n, ), device=device)]
        p = (torch.randint(0, 2, (n, ), device=device) if phase == 'random'
             else torch.full((n, ), phase, device=device))
        return checkerboard_mask(self.grid, k, p)

    def draw(self, batch: int, num_views: int, device=None):
        """Masks for a whole batch at once (SymMIM's ``mask_generator`` path).

        The contract a model relies on: one call per step, on the model's
        device, no Python loop over the batch, torch's RNG of that device (so
        ``randomness.seed`` makes it repeatable); masks are bool, True =
        masked, one per image and view.

        Returns:
            ``(mask, ema_mask)``, each ``(batch, num_views, H, W)``;
            ``ema_mask`` is None when ``ema_scale`` is None.
        """
        shape = (batch, num_views, *self.grid)
        n = batch * num_views
        mask = self.sample(n, self.scales, self.phase, device).view(shape)
        ema = (None if self.ema_scales is None else self.sample(
            n, self.ema_scales, self.ema_phase, device).view(shape))
        return mask, ema

    def _num_views(self, img) -> Optional[int]:
        views = img if isinstance(img, list) else [img]
        for view in views:
            h, w = view.shape[:2]
            if (h, w) != (self.input_size, self.input_size):
                raise ValueError(
                    f'{type(self).__name__}: image is {h}x{w} but '
                    f'`input_size`={self.input_size}; crop or resize to '
                    f'{self.input_size}x{self.input_size} before masking.')
        return len(views) if isinstance(img, list) else None

    def transform(self, results: dict) -> dict:
        views = self._num_views(results['img'])
        mask, ema = self.draw(1, views or 1)
        results['mask'] = mask[0] if views else mask[0, 0]
        if ema is not None:
            results['ema_mask'] = ema[0] if views else ema[0, 0]
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(input_size={self.input_size}, '
                f'model_patch_size={self.model_patch_size}, '
                f'scale={self.scales}, phase={self.phase!r}, '
                f'ema_scale={self.ema_scales}, ema_phase={self.ema_phase!r})')
