"""Nearest neighbours by cosine similarity of frozen features, and their
picture: one row per query image, then its ``k`` most similar images of the
collection with the similarity under each.

Features are what mmpretrain's ``FeatureExtractor`` reads from a model
(``model.extract_feat`` after its data preprocessor), reduced to one vector
per image by :func:`mmsymmim.evaluation.knn.pool_features` (ViT: class
token; ResNet: pooled last stage) and L2-normalised, so the similarity of
two images is a dot product and the search is one matrix product per chunk
of queries, on the features' device.

Shared by ``tools/visualization/visualize_neighbours.py`` and
:class:`NeighboursVisHook`. Images are uint8 ``(H, W, 3)`` BGR (as mmcv reads
them); the picture is BGR.
"""
from typing import Iterable, Optional, Sequence, Tuple

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from mmsymmim.evaluation.knn import pool_features
from .reconstruction import label

HEADER = 22  # px above the tiles for the column titles
CAPTION = 18  # px under each tile for its similarity
MIN_TILE = 64  # small images are magnified (nearest) to at least this
BORDER = 3  # px of the same-class (green) / other-class (red) frame
SAME, OTHER = (80, 200, 60), (60, 60, 230)  # BGR


@torch.no_grad()
def batch_features(model, data: dict) -> torch.Tensor:
    """``(B, C)`` L2-normalised features of one collated batch (``inputs``
    uint8 ``(B, 3, H, W)`` from the config's test pipeline), as
    FeatureExtractor computes them."""
    inputs = model.data_preprocessor(data, False)['inputs']
    return F.normalize(pool_features(model.extract_feat(inputs)).float(),
                       dim=1)


@torch.no_grad()
def embed(model, batches: Iterable[dict], progress=None) -> torch.Tensor:
    """``(N, C)`` normalised features of every batch, on the model's device,
    the model in eval mode meanwhile. ``progress(n)`` is called after each
    batch of ``n`` images."""
    was_training = model.training
    model.eval()
    feats = []
    try:
        for data in batches:
            feats.append(batch_features(model, data))
            if progress is not None:
                progress(len(feats[-1]))
    finally:
        model.train(was_training)
    if not feats:
        raise ValueError('no images to embed')
    return torch.cat(feats)


def embed_files(model, paths: Sequence[str], pipeline, batch_size: int = 256,
                workers: int = 0,
                progress=None) -> Tuple[torch.Tensor, torch.Tensor]:
    """``(N, C)`` normalised features of the image files that decode and
    their ``(N,)`` rows in ``paths``, in order (ValueError if none does).

    On a CPU model the ``workers`` loader processes also run the model, one
    thread each, on their own batches (the features equal those of
    ``workers=0``: same batches, same kernels); on a GPU they only load and
    the model runs here. ``progress(n)`` is called after each batch.
    """
    from functools import partial

    from .image_folder import folder_batches
    was_training = model.training
    model.eval()  # before the workers fork
    on_cpu = next(model.parameters()).device.type == 'cpu'
    feats, kept = [], []
    try:
        for idx, out in folder_batches(
                paths, pipeline, batch_size, workers,
                partial(batch_features, model) if on_cpu else None):
            if out is None:
                continue
            feats.append(out if on_cpu else batch_features(model, out))
            kept.extend(idx)
            if progress is not None:
                progress(len(idx))
    finally:
        model.train(was_training)
    if not feats:
        raise ValueError('no images to embed')
    return torch.cat(feats), torch.tensor(kept)


def nearest(bank: torch.Tensor, queries: torch.Tensor, k: int,
            exclude: Optional[torch.Tensor] = None,
            chunk: int = 1024) -> Tuple[torch.Tensor, torch.Tensor]:
    """The ``k`` most similar rows of ``bank`` for each query.

    Args:
        bank: ``(N, C)`` L2-normalised features.
        queries: ``(Q, C)`` L2-normalised features, same device.
        k: neighbours per query; clipped to the rows available.
        exclude: ``(Q,)`` index of each query's own row in ``bank`` (left
            out of its neighbours; -1: none), or None to keep every row (an
            image of the bank is then its own first neighbour).
        chunk: queries per matrix product, to bound memory.

    Returns:
        ``sims (Q, k)`` cosine similarities, descending, and ``index (Q, k)``
        rows of ``bank``.
    """
    if k < 1:
        raise ValueError(f'nearest: k must be at least 1, got {k}')
    k = min(k, bank.shape[0] - (exclude is not None))
    if k < 1:
        raise ValueError('nearest: the bank holds no image besides the query')
    sims, index = [], []
    for start in range(0, queries.shape[0], chunk):
        s = queries[start:start + chunk] @ bank.T
        if exclude is not None:
            own = exclude[start:start + chunk].to(s.device)
            rows = torch.arange(len(own), device=s.device)[own >= 0]
            s[rows, own[own >= 0]] = float('-inf')
        top = s.topk(k, dim=1)
        sims.append(top.values)
        index.append(top.indices)
    return torch.cat(sims), torch.cat(index)


def label_precision(feats: torch.Tensor, labels: torch.Tensor,
                    k: int = 5) -> float:
    """Mean fraction of each image's ``k`` nearest other images (cosine,
    itself left out) that share its label, in %: what a user with class
    folders reads off the neighbours picture, as one number."""
    own = torch.arange(len(feats), device=feats.device)
    _, index = nearest(feats, feats, k, exclude=own)
    labels = labels.to(feats.device)
    return (labels[index] == labels[:, None]).float().mean().item() * 100


# ------------------------------------------------------------------ drawing
def tile_size(img_size: int) -> int:
    """Side of one tile: a small ``img_size`` times the smallest integer
    factor that reaches ``MIN_TILE`` (nearest-neighbour magnification keeps
    the pixels sharp); a large one shrunk to at most 128 px."""
    if img_size >= MIN_TILE:
        return min(img_size, 128)
    return img_size * -(-MIN_TILE // img_size)


def _fit(img: np.ndarray, t: int) -> np.ndarray:
    """Short side to ``t``, centre crop: ``(t, t, 3)`` uint8 BGR."""
    if img.ndim == 2:
        img = img[..., None]
    if img.shape[2] == 1:
        img = np.repeat(img, 3, axis=2)
    h, w = img.shape[:2]
    s = t / min(h, w)
    interp = cv2.INTER_NEAREST if s >= 2 else (
        cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
    img = cv2.resize(img[..., :3], (max(t, round(w * s)), max(t, round(
        h * s))), interpolation=interp)
    y, x = (img.shape[0] - t) // 2, (img.shape[1] - t) // 2
    return img[y:y + t, x:x + t]


def picture_shape(num_queries: int, k: int, t: int) -> Tuple[int, int]:
    """``(height, width)`` of the picture of ``num_queries`` rows."""
    return HEADER + num_queries * (t + CAPTION), (k + 1) * t + 6


def draw_neighbours(queries: Sequence[np.ndarray],
                    neighbours: Sequence[Sequence[np.ndarray]],
                    sims: np.ndarray, t: int,
                    same_class: Optional[np.ndarray] = None,
                    captions: Optional[Sequence[str]] = None) -> np.ndarray:
    """The neighbours picture (BGR uint8, :func:`picture_shape`).

    Args:
        queries: one image per row.
        neighbours: per row, its ``k`` neighbour images, most similar first.
        sims: ``(Q, k)`` similarities, written under the neighbours.
        t: tile side in px.
        same_class: ``(Q, k)`` bool, or None: frame each neighbour green
            (the query's class) or red (another class).
        captions: text under each query (e.g. its class), or None.
    """
    q, k = sims.shape
    h, w = picture_shape(q, k, t)
    canvas = np.zeros((h, w, 3), np.uint8)
    label(canvas, 'query', 0, HEADER - 7, t)
    for j in range(k):
        label(canvas, f'{j + 1}', (j + 1) * t + 6, HEADER - 7, t)
    for r in range(q):
        y = HEADER + r * (t + CAPTION)
        canvas[y:y + t, :t] = _fit(queries[r], t)
        if captions is not None:
            label(canvas, captions[r], 0, y + t + CAPTION - 5, t, scale=0.4)
        for j in range(k):
            x = (j + 1) * t + 6
            canvas[y:y + t, x:x + t] = _fit(neighbours[r][j], t)
            if same_class is not None:
                cv2.rectangle(canvas, (x, y), (x + t - 1, y + t - 1),
                              SAME if same_class[r, j] else OTHER, BORDER)
            label(canvas, f'{sims[r, j]:.3f}', x, y + t + CAPTION - 5, t,
                  scale=0.4)
    return canvas
