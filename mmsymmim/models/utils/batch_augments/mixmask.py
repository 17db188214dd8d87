"""MixMask: fill masked regions with another image of the batch.

Vishniakov, Xing, Shen, "MixMask: Revisiting Masking Strategy for Siamese
ConvNets" (arXiv 2210.11456). For a batch x of shape (B, C, H, W)::

    M      = a G x G grid mask (1 = keep, 0 = fill), upsampled to H x W
    x_mix  = M * x + (1 - M) * x[partner]
    lambda = mean(M)                                  (per sample)

Runs on the batch's device with no Python loop over the batch. The published
code draws one mask (and so one lambda) per batch; here each image gets its
own by default (``per_sample=True``), which gives the loss a lambda per
sample; ``per_sample=False`` reproduces the published behaviour.
"""
import math
from typing import Tuple

import torch

from mmpretrain.registry import BATCH_AUGMENTS
from ....arg_checks import check_bool, check_choice, check_int, check_number

MASK_TYPES = ('block', 'discrete')
PARTNERS = ('reverse', 'random')


def _discrete_fill(n: int, cells: int, count: int,
                   device) -> torch.Tensor:
    """``(n, cells)`` bool, exactly ``count`` random cells True per row."""
    ranks = torch.rand(n, cells, device=device).argsort(dim=1).argsort(dim=1)
    return ranks < count


def _block_fill(n: int, grid: int, count: int, rounds: int, min_area: int,
                device) -> torch.Tensor:
    """``(n, grid, grid)`` bool, BEiT-style rectangles up to ``count`` cells.

    Each round every sample draws one rectangle (area uniform in
    [min_area, remaining], aspect ratio log-uniform in [0.3, 1/0.3]) and keeps
    it if it adds cells without overshooting ``count``; all samples move in
    lock-step, so the loop is over rounds, not over the batch.
    """
    filled = torch.zeros(n, grid, grid, dtype=torch.bool, device=device)
    rows = torch.arange(grid, device=device).view(1, grid, 1)
    cols = torch.arange(grid, device=device).view(1, 1, grid)
    log_r = (math.log(0.3), math.log(1 / 0.3))
    for _ in range(rounds):
        have = filled.flatten(1).sum(1)
        remaining = (count - have).clamp(min=0).float()
        hi = torch.maximum(remaining, torch.full_like(remaining, min_area))
        area = min_area + torch.rand(n, device=device) * (hi - min_area)
        ratio = torch.empty(n, device=device).uniform_(*log_r).exp()
        h = (area * ratio).sqrt().round().long().clamp(1, grid)
        w = (area / ratio).sqrt().round().long().clamp(1, grid)
        top = (torch.rand(n, device=device) * (grid - h + 1)).long()
        left = (torch.rand(n, device=device) * (grid - w + 1)).long()
        rect = ((rows >= top.view(-1, 1, 1)) &
                (rows < (top + h).view(-1, 1, 1)) &
                (cols >= left.view(-1, 1, 1)) &
                (cols < (left + w).view(-1, 1, 1)))
        new = (rect & ~filled).flatten(1).sum(1)
        accept = (new > 0) & (have + new <= count)
        filled |= rect & accept.view(-1, 1, 1)
    return filled


@BATCH_AUGMENTS.register_module()
class MixMask:
    """Mix each image with a partner of the batch under a grid mask.

    Args:
        grid_size (int): G, mask cells per side. Defaults to 8.
        mask_ratio (float): target fraction of cells filled from the partner,
            in (0, 1). Defaults to 0.5.
        mask_type (str): 'block' (BEiT-style rectangles, at most the target)
            or 'discrete' (independent cells, exactly the target).
            Defaults to 'block'.
        partner (str): 'reverse' (image i takes its filler from B-1-i, as the
            published code; the middle image of an odd batch mixes with
            itself) or 'random' (a random cyclic derangement: no image is its
            own partner). Defaults to 'reverse'.
        per_sample (bool): one mask per image (True) or one per batch.
            Defaults to True.
        block_rounds (int): rectangle rounds of the block mask. Defaults to 20.
    """

    def __init__(self,
                 grid_size: int = 8,
                 mask_ratio: float = 0.5,
                 mask_type: str = 'block',
                 partner: str = 'reverse',
                 per_sample: bool = True,
                 block_rounds: int = 20) -> None:
        owner = type(self).__name__
        check_int(owner, 'grid_size', grid_size, 2)
        check_number(owner, 'mask_ratio', mask_ratio, 0, 1, low_open=True,
                     high_open=True)
        check_choice(owner, 'mask_type', mask_type, MASK_TYPES)
        check_choice(owner, 'partner', partner, PARTNERS)
        check_bool(owner, 'per_sample', per_sample)
        check_int(owner, 'block_rounds', block_rounds, 1)
        self.grid_size = grid_size
        self.mask_ratio = mask_ratio
        self.mask_type = mask_type
        self.partner = partner
        self.per_sample = per_sample
        self.block_rounds = block_rounds
        self.fill_count = max(1, round(mask_ratio * grid_size**2))

    def grid_mask(self, batch: int, device=None) -> torch.Tensor:
        """``(batch, G, G)`` float mask, 1 = keep own pixels, 0 = fill."""
        n = batch if self.per_sample else 1
        G = self.grid_size
        if self.mask_type == 'discrete':
            fill = _discrete_fill(n, G * G, self.fill_count,
                                  device).view(n, G, G)
        else:
            fill = _block_fill(n, G, self.fill_count, self.block_rounds,
                               min(4, self.fill_count), device)
        return (~fill).float().expand(batch, G, G)

    def partner_index(self, batch: int, device=None) -> torch.Tensor:
        """``(batch,)`` index of the image that fills each image's holes."""
        if self.partner == 'reverse':
            return torch.arange(batch - 1, -1, -1, device=device)
        perm = torch.randperm(batch, device=device)
        partner = torch.empty_like(perm)
        partner[perm] = perm.roll(-1)
        return partner

    def __call__(self, x: torch.Tensor
                 ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Args:
            x: ``(B, C, H, W)`` images; H and W divisible by G.

        Returns:
            x_mix ``(B, C, H, W)``, lambda ``(B,)`` (fraction of own pixels),
            partner ``(B,)`` long.
        """
        B, _, H, W = x.shape
        G = self.grid_size
        if B < 2:
            raise ValueError(
                f'{type(self).__name__}: a batch of {B} image(s): each image '
                f'is filled from another one of the batch; allowed: at least '
                f'2 images per process (train_dataloader.batch_size >= 2, '
                f'drop_last=True)')
        if H % G or W % G:
            raise ValueError(f'{type(self).__name__}: image size {H}x{W} is '
                             f'not divisible by `grid_size`={G}; use a grid '
                             f'size dividing both sides')
        mask = self.grid_mask(B, x.device)
        lam = mask.flatten(1).mean(1)
        pixel_mask = mask.repeat_interleave(H // G, 1).repeat_interleave(
            W // G, 2).unsqueeze(1).to(x.dtype)
        partner = self.partner_index(B, x.device)
        x_mix = pixel_mask * x + (1 - pixel_mask) * x[partner]
        return x_mix, lam.to(x.dtype), partner

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(grid_size={self.grid_size}, '
                f'mask_ratio={self.mask_ratio}, mask_type={self.mask_type!r}, '
                f'partner={self.partner!r}, per_sample={self.per_sample})')
