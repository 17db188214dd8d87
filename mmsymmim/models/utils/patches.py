"""Patches of an image batch and their statistics (MAE's norm_pix)."""
import torch


def to_patches(images: torch.Tensor, p: int) -> torch.Tensor:
    """``(B, C, H, W)`` -> ``(B, H/p, W/p, C*p*p)``."""
    B, C, H, W = images.shape
    x = images.reshape(B, C, H // p, p, W // p, p).permute(0, 2, 4, 1, 3, 5)
    return x.reshape(B, H // p, W // p, -1)


def from_patches(x: torch.Tensor, p: int) -> torch.Tensor:
    """Inverse of :func:`to_patches`."""
    B, h, w, D = x.shape
    C = D // (p * p)
    x = x.reshape(B, h, w, C, p, p).permute(0, 3, 1, 4, 2, 5)
    return x.reshape(B, C, h * p, w * p)


def patch_mean_std(images: torch.Tensor, p: int):
    """Per-patch mean and std ``(B, H/p, W/p, 1)`` (MAE's norm_pix)."""
    x = to_patches(images, p)
    return (x.mean(dim=-1, keepdim=True),
            (x.var(dim=-1, keepdim=True) + 1.e-6)**.5)
