"""Fashion-MNIST read straight from Debian's ``dataset-fashion-mnist`` files.

mmpretrain's own ``FashionMNIST`` expects unpacked files and downloads them
when missing; this one reads the gzipped IDX files the Debian package installs
(``/usr/share/datasets/fashion-mnist``) and never touches the network, so the
demo and the tests run offline on real images.
"""
import gzip
import os.path as osp
from typing import List

import numpy as np

from mmpretrain.datasets import BaseDataset
from mmpretrain.datasets.categories import FASHIONMNIST_CATEGORITES
from mmpretrain.registry import DATASETS

DEFAULT_ROOT = '/usr/share/datasets/fashion-mnist'
FILES = dict(
    train=('train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz'),
    test=('t10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz'))


def read_idx(path: str, header: int) -> np.ndarray:
    """Raw uint8 payload of a gzipped IDX file after its header bytes."""
    with gzip.open(path, 'rb') as f:
        return np.frombuffer(f.read(), dtype=np.uint8, offset=header)


@DATASETS.register_module()
class FashionMNISTIDX(BaseDataset):
    """Fashion-MNIST: 60,000 train / 10,000 test 28x28 product photos.

    Each item is ``dict(img=uint8 (28, 28, 3), gt_label=int)``: the gray image
    repeated to three channels, so mmpretrain's RGB pipelines and 3-channel
    backbones apply unchanged. Use ``indices=N`` to take the first N images.

    Args:
        data_root (str): folder with the four ``*-ubyte.gz`` files. Defaults
            to where Debian's ``dataset-fashion-mnist`` installs them.
        split (str): 'train' or 'test'.
    """
    METAINFO = {'classes': FASHIONMNIST_CATEGORITES}

    def __init__(self,
                 data_root: str = DEFAULT_ROOT,
                 split: str = 'train',
                 **kwargs) -> None:
        if split not in FILES:
            raise ValueError(f'FashionMNISTIDX: `split` must be one of '
                             f'{list(FILES)}, got {split!r}')
        self.split = split
        super().__init__(ann_file='', data_root=data_root, **kwargs)

    def load_data_list(self) -> List[dict]:
        paths = [osp.join(self.data_root, f) for f in FILES[self.split]]
        missing = [p for p in paths if not osp.isfile(p)]
        if missing:
            raise FileNotFoundError(
                f'FashionMNISTIDX: {missing[0]} not found (data_root='
                f'{self.data_root!r}). Install the images with '
                f'`apt-get install dataset-fashion-mnist` or point '
                f'`data_root` at a folder holding {list(FILES[self.split])}.')
        images = read_idx(paths[0], header=16).reshape(-1, 28, 28)
        labels = read_idx(paths[1], header=8).astype(np.int64)
        if len(images) != len(labels):
            raise ValueError(f'FashionMNISTIDX: {len(images)} images but '
                             f'{len(labels)} labels in {self.data_root}')
        images = np.repeat(images[..., None], 3, axis=-1)
        return [dict(img=img, gt_label=int(label))
                for img, label in zip(images, labels)]
