import numpy as np
import pytest

from mmpretrain.registry import DATASETS


@pytest.mark.parametrize('split,n', [('train', 60000), ('test', 10000)])
def test_reads_debian_idx(fmnist_root, split, n):
    ds = DATASETS.build(dict(type='FashionMNISTIDX', split=split))
    assert len(ds) == n
    item = ds.get_data_info(0)
    assert item['img'].shape == (28, 28, 3) and item['img'].dtype == np.uint8
    assert 0 <= int(item['gt_label']) < 10
    labels = np.array([int(ds.get_data_info(i)['gt_label'])
                       for i in range(0, n, 97)])
    assert set(labels.tolist()) == set(range(10))  # all classes present
    assert item['img'].std() > 10  # a real image, not a blank


def test_indices_subset(fmnist_root):
    ds = DATASETS.build(dict(type='FashionMNISTIDX', split='test', indices=5))
    assert len(ds) == 5


def test_missing_root_says_install(tmp_path):
    with pytest.raises(FileNotFoundError,
                       match='apt-get install dataset-fashion-mnist'):
        DATASETS.build(dict(type='FashionMNISTIDX', data_root=str(tmp_path)))


def test_bad_split():
    with pytest.raises(ValueError, match="split.*'train', 'test'"):
        DATASETS.build(dict(type='FashionMNISTIDX', split='val'))
