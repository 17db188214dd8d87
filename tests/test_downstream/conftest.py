"""Tiny COCO- and ADE20K-format data sets from real Fashion-MNIST images
(masks from thresholding the garment), shared by the transfer tests."""
import json

import cv2
import numpy as np
import pytest

from mmsymmim.datasets import FashionMNISTIDX

SIZE = 64  # downstream image side; the pretraining side is 32, patch 4
CLASSES = FashionMNISTIDX.METAINFO['classes']


@pytest.fixture(scope='session')
def images(fmnist_root):
    ds = FashionMNISTIDX(split='test', indices=8)
    out = []
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        img = cv2.resize(info['img'], (SIZE, SIZE))
        fg = (img[..., 0] > 20).astype(np.uint8)
        out.append((img, fg, int(info['gt_label'])))
    return out


@pytest.fixture(scope='session')
def coco_root(tmp_path_factory, images):
    root = tmp_path_factory.mktemp('coco')
    (root / 'train').mkdir()
    coco = dict(images=[], annotations=[],
                categories=[dict(id=i + 1, name=c)
                            for i, c in enumerate(CLASSES)])
    for i, (img, fg, label) in enumerate(images):
        cv2.imwrite(str(root / 'train' / f'{i}.png'), img)
        contours, _ = cv2.findContours(fg, cv2.RETR_EXTERNAL,
                                       cv2.CHAIN_APPROX_SIMPLE)
        poly = max(contours, key=cv2.contourArea).reshape(-1).tolist()
        x, y, w, h = cv2.boundingRect(fg)
        coco['images'].append(
            dict(id=i, file_name=f'{i}.png', height=SIZE, width=SIZE))
        coco['annotations'].append(
            dict(id=i, image_id=i, category_id=label + 1, iscrowd=0,
                 bbox=[x, y, w, h], area=float(fg.sum()),
                 segmentation=[poly]))
    (root / 'train.json').write_text(json.dumps(coco))
    return root


@pytest.fixture(scope='session')
def ade_root(tmp_path_factory, images):
    root = tmp_path_factory.mktemp('ade')
    (root / 'images/training').mkdir(parents=True)
    (root / 'annotations/training').mkdir(parents=True)
    for i, (img, fg, label) in enumerate(images):
        cv2.imwrite(str(root / f'images/training/{i}.jpg'), img)
        # ADE20K's reduce_zero_label: 0 is ignored, value v is class v - 1
        seg = np.where(fg > 0, label + 2, 1).astype(np.uint8)
        cv2.imwrite(str(root / f'annotations/training/{i}.png'), seg)
    return root
