"""A folder of images for the inference tools: the files (sub-folders
included), their class when the folder is split into class sub-folders, and
batches through a config's test pipeline with unreadable files left out.
"""
import os
import os.path as osp
from typing import Callable, List, Optional, Tuple

import mmcv
import torch
from mmengine.dataset import default_collate
from torch.utils.data import DataLoader, Dataset

from .reconstruction import IMG_EXTENSIONS


def list_images(folder: str) -> List[str]:
    """Every image file under ``folder`` (sorted, recursive, by extension:
    jpg/jpeg/png/ppm/bmp/pgm/tif)."""
    if not osp.isdir(folder):
        raise FileNotFoundError(f'{folder} is not a folder')
    return sorted(
        osp.join(root, f) for root, _, files in os.walk(folder)
        for f in files if f.lower().endswith(IMG_EXTENSIONS))


def folder_classes(paths: List[str],
                   folder: str) -> Tuple[Optional[torch.Tensor], List[str]]:
    """Labels from class sub-folders: ``(labels (N,), class names)`` when
    every image lies in a first-level sub-folder and there are at least two
    of them (mmpretrain's CustomDataset layout), else ``(None, [])``."""
    tops = [osp.relpath(p, folder).split(os.sep) for p in paths]
    if not tops or any(len(t) < 2 for t in tops):
        return None, []
    names = sorted({t[0] for t in tops})
    if len(names) < 2:
        return None, []
    lookup = {n: i for i, n in enumerate(names)}
    return torch.tensor([lookup[t[0]] for t in tops]), names


class _Files(Dataset):
    """``(index, packed inputs)`` of each file, None when it does not
    decode."""

    def __init__(self, paths: List[str], pipeline: Callable) -> None:
        self.paths, self.pipeline = paths, pipeline

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int):
        try:
            img = mmcv.imread(self.paths[i])
        except Exception:  # noqa: BLE001 - reported by the caller
            img = None
        if img is None:
            return None
        return i, self.pipeline(
            dict(img=img, img_shape=img.shape[:2], ori_shape=img.shape[:2]))


def _collate(items):
    items = [it for it in items if it is not None]
    if not items:
        return [], None
    return [i for i, _ in items], default_collate([d for _, d in items])


class _Batches(Dataset):
    """Batch ``b``: ``(indices that decoded, collated data)``, or with
    ``encode`` ``(indices, encode(data))`` computed in the loader's process
    (``(indices, None)`` when none decodes)."""

    def __init__(self, paths: List[str], pipeline: Callable, batch_size: int,
                 encode: Optional[Callable] = None) -> None:
        self.files, self.size, self.encode = (_Files(paths, pipeline),
                                              batch_size, encode)

    def __len__(self) -> int:
        return -(-len(self.files) // self.size)

    def __getitem__(self, b: int):
        stop = min(len(self.files), (b + 1) * self.size)
        idx, data = _collate(
            [self.files[i] for i in range(b * self.size, stop)])
        if self.encode is None or data is None:
            return idx, data
        return idx, self.encode(data)


def folder_batches(paths: List[str], pipeline: Callable, batch_size: int,
                   num_workers: int = 0,
                   encode: Optional[Callable] = None) -> DataLoader:
    """Batches ``(indices, collated data)`` of ``paths`` through
    ``pipeline`` (the inferencer's, LoadImageFromFile removed), in order;
    files that do not decode are missing from ``indices``. ``encode(data)``
    (e.g. a CPU model's features) replaces the data, run by the
    ``num_workers`` loader processes when there are any."""
    return DataLoader(_Batches(paths, pipeline, batch_size, encode),
                      batch_size=None, num_workers=num_workers)
