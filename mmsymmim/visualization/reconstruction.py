"""The reconstruction grid: what a SymMIM model is shown and what it paints.

One row per image, four columns::

    image | online mask | reconstruction | EMA mask

masked patches are darkened and tinted in the mask columns; the
reconstruction is the model's prediction of the masked patches pasted into
the visible ones (:meth:`SymMIM.reconstruct`), taken back from the target
space to pixels: un-normalised with the data preprocessor's mean / std and,
with ``norm_target=True``, each patch first given back the mean and spread
of the true patch (as MAE's figures do). The EMA column says 'full view'
when the momentum encoder sees unmasked views.

Shared by ``tools/visualization/visualize_reconstruction.py`` and
:class:`ReconstructionVisHook`. Images are uint8 ``(N, S, S, 3)`` in the
order they were loaded (BGR for files, as mmcv reads them); the grid is BGR.
"""
import copy
import os
import os.path as osp
from typing import Optional

import cv2
import mmcv
import numpy as np
import torch

from mmsymmim.models.utils.patches import (
    from_patches,
    patch_mean_std,
    to_patches,
)

COLUMNS = ('image', 'online mask', 'reconstruction', 'EMA mask')
HEADER = 28  # px above the tiles for the column titles
MIN_TILE = 128  # small images are magnified (nearest) to at least this
IMG_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.ppm', '.bmp', '.pgm', '.tif')


def tile_size(img_size: int) -> int:
    """Side of one tile: ``img_size`` times the smallest integer factor that
    reaches ``MIN_TILE``."""
    return img_size * max(1, -(-MIN_TILE // img_size))


def grid_shape(num_images: int, img_size: int) -> tuple:
    """``(height, width)`` of the grid for ``num_images`` rows."""
    t = tile_size(img_size)
    return HEADER + num_images * t, len(COLUMNS) * t


# ------------------------------------------------------------------ inputs
def _find_type(cfg, name: str) -> Optional[dict]:
    """First dict with ``type == name`` anywhere in ``cfg``."""
    if isinstance(cfg, dict):
        if cfg.get('type') == name:
            return cfg
        items = cfg.values()
    elif isinstance(cfg, (list, tuple)):
        items = cfg
    else:
        return None
    for item in items:
        found = _find_type(item, name)
        if found is not None:
            return found
    return None


def find_mask_generator(cfg, model=None):
    """The run's :class:`SymmetricMaskGenerator`: the model's own
    (``mask_generator``) or the one in the train pipeline."""
    from mmpretrain.registry import TRANSFORMS
    if getattr(model, 'mask_generator', None) is not None:
        return model.mask_generator
    found = _find_type(cfg.get('train_dataloader'), 'SymmetricMaskGenerator')
    if found is None:
        raise ValueError('no SymmetricMaskGenerator in the model or the train '
                         'pipeline of this config: is it a SymMIM config?')
    return TRANSFORMS.build(copy.deepcopy(found))


def fit_image(img: np.ndarray, size: int) -> np.ndarray:
    """Resize the short side to ``size`` and centre-crop:
    ``(size, size, 3)``."""
    if img.ndim == 2:
        img = img[..., None]
    if img.shape[2] == 1:
        img = np.repeat(img, 3, axis=2)
    h, w = img.shape[:2]
    s = size / min(h, w)
    img = cv2.resize(img[..., :3], (max(size, round(w * s)),
                                    max(size, round(h * s))),
                     interpolation=cv2.INTER_AREA if s < 1 else
                     cv2.INTER_LINEAR)
    y, x = (img.shape[0] - size) // 2, (img.shape[1] - size) // 2
    return np.ascontiguousarray(img[y:y + size, x:x + size])


def _read(path: str) -> Optional[np.ndarray]:
    try:
        return mmcv.imread(path)
    except Exception:  # noqa: BLE001 - unreadable files are skipped
        return None


def images_from_folder(folder: str, num: int, size: int) -> np.ndarray:
    """The first ``num`` readable images under ``folder`` (sorted,
    recursive)."""
    paths = sorted(
        osp.join(root, f) for root, _, files in os.walk(folder)
        for f in files if f.lower().endswith(IMG_EXTENSIONS))
    imgs = []
    for path in paths:
        img = _read(path)
        if img is not None:
            imgs.append(fit_image(img, size))
        if len(imgs) == num:
            break
    if not imgs:
        raise FileNotFoundError(f'no readable image under {folder}')
    return np.stack(imgs)


def default_dataset(cfg) -> dict:
    """Images to show by default: the k-NN hook's test set if the config has
    one (Fashion-MNIST test split in the demos), else the train set."""
    for hook in cfg.get('custom_hooks') or []:
        if hook.get('type') == 'KNNEvalHook':
            return hook['test_dataloader']['dataset']
    return cfg.train_dataloader.dataset


def images_from_dataset(ds_cfg: dict, num: int, size: int) -> np.ndarray:
    """The first ``num`` readable images of a dataset config, unaugmented."""
    from mmpretrain.registry import DATASETS
    while isinstance(ds_cfg.get('dataset'), dict):  # wrappers
        ds_cfg = ds_cfg['dataset']
    ds_cfg = copy.deepcopy(ds_cfg)
    ds_cfg.update(pipeline=[])
    dataset = DATASETS.build(ds_cfg)
    imgs = []
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        img = info['img'] if 'img' in info else _read(info['img_path'])
        if img is not None:
            imgs.append(fit_image(img, size))
        if len(imgs) == num:
            break
    return np.stack(imgs)


# ----------------------------------------------------------------- the model
def _unnormalise_patches(pred: torch.Tensor, x: torch.Tensor,
                         p: int) -> torch.Tensor:
    """Give each ``p`` x ``p`` patch of ``pred`` the mean and std of the
    same patch of ``x`` (inverse of ``SymMIM.patch_targets``)."""
    mean, std = patch_mean_std(x, p)
    return from_patches(to_patches(pred, p) * std + mean, p)


@torch.no_grad()
def reconstruct_images(model, images: np.ndarray, mask_generator,
                       seed: int = 0) -> dict:
    """Masks and reconstructions of ``images`` (uint8 ``(N, S, S, 3)``).

    Returns:
        dict: ``recon`` uint8 ``(N, S, S, 3)`` (same channel order as
        ``images``), ``mask`` bool ``(N, h, w)``, ``ema_mask`` bool
        ``(N, h, w)`` or None (the EMA encoder sees full views). The masks
        are the same for the same ``seed``.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        mask, ema = mask_generator.draw(len(images), 1, 'cpu')
    mask = mask[:, 0]
    ema = None if ema is None or not getattr(model, 'ema_masked',
                                             True) else ema[:, 0]
    pre = model.data_preprocessor
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    try:
        x = torch.from_numpy(images).permute(0, 3, 1, 2).to(device)
        x = pre(dict(inputs=x, data_samples=None), False)['inputs']
        if isinstance(x, list):
            x = x[0]
        pred = model.reconstruct(x, mask.to(device)).float()
    finally:
        model.train(was_training)
    p = x.shape[-1] // mask.shape[-1]
    if getattr(model, 'norm_target', False):
        pred = _unnormalise_patches(pred, x, p)
    masked = mask.to(device).repeat_interleave(p, 1).repeat_interleave(p, 2)
    out = torch.where(masked[:, None], pred, x)
    if getattr(pre, '_enable_normalize', False):
        out = out * pre.std + pre.mean
    if getattr(pre, '_channel_conversion', False):
        out = out[:, [2, 1, 0]]  # back to the order the images came in
    recon = out.clamp(0, 255).round().byte().permute(0, 2, 3, 1).cpu()
    return dict(recon=recon.numpy(), mask=mask.numpy(),
                ema_mask=None if ema is None else ema.numpy())


# ------------------------------------------------------------------ drawing
def tile(img: np.ndarray, t: int) -> np.ndarray:
    return cv2.resize(img, (t, t), interpolation=cv2.INTER_NEAREST)


def shade(img: np.ndarray, token_mask: np.ndarray) -> np.ndarray:
    """Darken and tint the masked tokens (``(h, w)`` bool) of ``img``."""
    S = img.shape[0]
    m = cv2.resize(token_mask.astype(np.uint8), (S, S),
                   interpolation=cv2.INTER_NEAREST).astype(bool)
    out = img.astype(np.float32)
    out[m] = out[m] * 0.25 + np.array([90, 40, 40], np.float32)  # BGR tint
    return out.clip(0, 255).astype(np.uint8)


def label(canvas, text: str, x: int, y: int, width: int,
          scale: float = 0.45) -> None:
    """White text at (x, y), shrunk to fit ``width`` px with 4-px margins."""
    font = cv2.FONT_HERSHEY_SIMPLEX
    while cv2.getTextSize(text, font, scale, 1)[0][0] > width - 8 and \
            scale > 0.2:
        scale *= 0.9
    cv2.putText(canvas, text, (x + 4, y), font, scale, (255, 255, 255), 1,
                cv2.LINE_AA)


def draw_grid(images: np.ndarray, recon: np.ndarray, mask: np.ndarray,
              ema_mask: Optional[np.ndarray]) -> np.ndarray:
    """The grid (uint8, ``grid_shape(N, S)`` x 3) from
    :func:`reconstruct_images`' outputs."""
    n, S = len(images), images.shape[1]
    t = tile_size(S)
    canvas = np.zeros((*grid_shape(n, S), 3), np.uint8)
    for c, name in enumerate(COLUMNS):
        label(canvas, name, c * t, HEADER - 9, t)
    for r in range(n):
        y = HEADER + r * t
        cells = [images[r], shade(images[r], mask[r]), recon[r],
                 images[r] if ema_mask is None else
                 shade(images[r], ema_mask[r])]
        for c, cell in enumerate(cells):
            canvas[y:y + t, c * t:(c + 1) * t] = tile(cell, t)
        if ema_mask is None:
            label(canvas, 'full view', 3 * t, y + t - 6, t)
    return canvas


def reconstruction_grid(model, images: np.ndarray, mask_generator,
                        seed: int = 0) -> np.ndarray:
    """:func:`reconstruct_images` then :func:`draw_grid`: a BGR uint8 grid."""
    out = reconstruct_images(model, images, mask_generator, seed)
    return draw_grid(images, out['recon'], out['mask'], out['ema_mask'])
