"""The config sweep's tiny data sets, from real Fashion-MNIST images, in the
layouts the configs read (tests/config_sweep.py's ``layout``)."""
import os
import os.path as osp

import cv2
import numpy as np

SIZES = [(40, 32), (64, 64), (96, 72), (50, 70)]  # (w, h), a few of each


def fmnist_rgb(n: int, root: str):
    """``n`` Fashion-MNIST test images as RGB uint8 (BGR for cv2) at the
    sizes above, each channel scaled differently, and their labels."""
    from mmsymmim.datasets.fashion_mnist import FILES, read_idx
    images = read_idx(osp.join(root, FILES['test'][0]), 16).reshape(-1, 28,
                                                                     28)
    labels = read_idx(osp.join(root, FILES['test'][1]), 8)
    tint = np.array([1.0, 0.8, 0.6])
    for i in range(n):
        img = cv2.resize(images[i], SIZES[i % len(SIZES)],
                         interpolation=cv2.INTER_LINEAR)
        yield (img[..., None] * tint).astype(np.uint8), int(labels[i])


def make_data(folder, fmnist_root: str) -> dict:
    """The layouts the configs read, from real images, under ``folder``:

    * ``imagenet``: mmpretrain's ImageNet layout, ``train/<class>/*.JPEG``
      (3 classes, 12 images), ``val/*.JPEG`` (4), ``meta/train.txt``,
      ``meta/val.txt`` (``<path> <label>`` lines);
    * ``folder``: unlabeled PNG and JPEG images, some in a sub-folder.
    """
    root = str(folder)
    imagenet, images = osp.join(root, 'imagenet'), osp.join(root, 'images')
    lines = dict(train=[], val=[])
    for i, (img, label) in enumerate(fmnist_rgb(16, fmnist_root)):
        if i < 12:
            name = f'n{label:08d}/n{label:08d}_{i}.JPEG'
            split = 'train'
        else:
            name = f'ILSVRC2012_val_{i:08d}.JPEG'
            split = 'val'
        out = osp.join(imagenet, split, name)
        _write(out, img)
        lines[split].append(f'{name} {label % 3}')
    for split, rows in lines.items():
        _write_text(osp.join(imagenet, 'meta', f'{split}.txt'), rows)
    for i, (img, _) in enumerate(fmnist_rgb(8, fmnist_root)):
        sub = 'sub' if i % 2 else ''
        _write(osp.join(images, sub, f'img_{i}.{"png" if i % 3 else "jpg"}'),
               img)
    return dict(imagenet=imagenet, folder=images)


def _write(path: str, img: np.ndarray) -> None:
    os.makedirs(osp.dirname(path), exist_ok=True)
    assert cv2.imwrite(path, img), path


def _write_text(path: str, rows) -> None:
    os.makedirs(osp.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        f.write('\n'.join(rows) + '\n')
