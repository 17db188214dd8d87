"""make_fmnist_scenes.py: tiny scene sets (6 train / 3 val / 3 test) are
deterministic, their COCO masks, boxes and semantic maps agree, no garment
is occluded below the threshold, mmdet's CocoDataset and mmseg's
BaseSegDataset read them, val and test garments come from disjoint halves of
the test images, and bad options exit with one line."""
import importlib.util
import json
import os
import os.path as osp
import types

import cv2
import numpy as np
import pytest
from mmengine.registry import init_default_scope
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO

from ...harness import REPO, run_tool

TOOL = osp.join(REPO, 'tools/dataset_converters/make_fmnist_scenes.py')
TINY = ['--train', '6', '--val', '3', '--test', '3']
SPLITS = ('train', 'val', 'test')
# pycocotools' decode under numpy 2 (upstream, harmless)
pytestmark = pytest.mark.filterwarnings(
    'ignore:__array__ implementation:DeprecationWarning')


@pytest.fixture(scope='module')
def tool():
    spec = importlib.util.spec_from_file_location('make_fmnist_scenes', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def scenes(tool, fmnist_root, tmp_path_factory):
    """Folders ``a`` and ``b`` (seed 0), ``c`` (seed 0, then replaced by
    seed 1) and ``short`` (seed 0, 3 train scenes) under one parent."""
    root = tmp_path_factory.mktemp('scenes')
    for name, extra in [('a', []), ('b', []), ('c', []),
                        ('c', ['--seed', '1']), ('short', ['--train', '3'])]:
        tool.main(['--out', str(root / name), *TINY, *extra])
    return root


def files(folder):
    return sorted(osp.relpath(osp.join(d, f), folder)
                  for d, _, names in os.walk(folder) for f in names)


def read(path):
    with open(path, 'rb') as f:
        return f.read()


def coco_json(folder, split):
    with open(osp.join(folder, 'annotations', f'instances_{split}.json')) as f:
        return json.load(f)


def test_layout_and_meta(scenes, tool):
    a = scenes / 'a'
    expected = {'meta.json'} | {
        f'annotations/instances_{s}.json' for s in SPLITS} | {
        f'{sub}/{s}/{i:06d}.png' for sub in ('images', 'seg')
        for s, n in zip(SPLITS, (6, 3, 3)) for i in range(n)}
    assert set(files(a)) == expected
    meta = json.loads((a / 'meta.json').read_text())
    assert {s: c['images'] for s, c in meta['counts'].items()} == dict(
        train=6, val=3, test=3)
    for s in SPLITS:
        assert meta['counts'][s]['instances'] == len(
            coco_json(a, s)['annotations'])
    img = cv2.imread(str(a / 'images/train/000000.png'), cv2.IMREAD_UNCHANGED)
    assert img.dtype == np.uint8 and img.shape == (64, 64)
    # the replaced folder and the build left nothing beside the outputs
    assert sorted(os.listdir(scenes)) == ['a', 'b', 'c', 'short']


def test_deterministic_from_seed(scenes):
    a, b, c = scenes / 'a', scenes / 'b', scenes / 'c'
    assert files(a) == files(b) == files(c)
    for f in files(a):
        assert read(a / f) == read(b / f), f
    assert [f for f in files(a) if f.startswith('images/')
            and read(a / f) == read(c / f)] == []
    # scene i depends on (seed, split, i) only, not on the counts
    for i in range(3):
        f = f'images/train/{i:06d}.png'
        assert read(a / f) == read(scenes / 'short' / f)


@pytest.mark.parametrize('split', SPLITS)
def test_masks_boxes_and_semantic_map_agree(scenes, split):
    a = scenes / 'a'
    coco = coco_json(a, split)
    assert [c['name'] for c in coco['categories']] == [
        'T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal',
        'Shirt', 'Sneaker', 'Bag', 'Ankle boot']
    assert [c['id'] for c in coco['categories']] == list(range(1, 11))
    ids = [ann['id'] for ann in coco['annotations']]
    assert len(set(ids)) == len(ids) and min(ids) >= 1
    for img in coco['images']:
        assert img['file_name'] == f'{split}/{img["id"]:06d}.png'
        seg = cv2.imread(str(a / 'seg' / img['file_name']),
                         cv2.IMREAD_UNCHANGED)
        union = np.zeros((img['height'], img['width']), np.int64)
        cover = np.zeros_like(union)
        anns = [x for x in coco['annotations'] if x['image_id'] == img['id']]
        assert 2 <= len(anns) <= 5
        for ann in anns:
            m = mask_utils.decode(ann['segmentation']).astype(bool)
            ys, xs = np.nonzero(m)
            assert ann['bbox'] == [xs.min(), ys.min(), xs.max() - xs.min() + 1,
                                   ys.max() - ys.min() + 1]
            assert ann['area'] == m.sum() >= 12 and ann['iscrowd'] == 0
            assert 1 <= ann['category_id'] <= 10
            cover += m
            union[m] = ann['category_id']
        assert cover.max() == 1  # no two instance masks overlap
        np.testing.assert_array_equal(seg, union)


def test_no_garment_occluded_below_min_visible(tool):
    """Solid square garments of one side: own area is side^2, and each
    visible mask shows only its garment's grey level."""
    garments = np.repeat(np.arange(100, 140, dtype=np.uint8), 28 * 28)
    garments = garments.reshape(40, 28, 28)
    opts = types.SimpleNamespace(size=48, min_objects=4, max_objects=4,
                                 min_scale=20, max_scale=20, min_visible=0.5,
                                 threshold=10)
    overlaps = 0
    for i in range(20):
        image, masks, classes, picked = tool.make_scene(
            np.random.default_rng(i), garments, np.arange(40) % 10, opts)
        assert masks.shape == (4, 48, 48) and masks.sum(0).max() == 1
        assert (masks.sum((1, 2)) >= 0.5 * 20 * 20).all()
        overlaps += (masks.sum((1, 2)) < 400).sum()
        np.testing.assert_array_equal(classes, picked % 10)
        for m, j in zip(masks, picked):
            assert (image[m] == 100 + j).all()
    assert overlaps > 0  # the check was exercised


def test_val_and_test_garments_from_disjoint_test_halves(scenes, tool,
                                                         fmnist_root):
    fm = tool.load_fmnist(fmnist_root)
    seen = {}
    for split in SPLITS:
        anns = coco_json(scenes / 'a', split)['annotations']
        src = {ann['fmnist_split'] for ann in anns}
        assert src == {'train' if split == 'train' else 'test'}
        idx = np.array([ann['fmnist_index'] for ann in anns])
        labels = fm[src.pop()][1][idx]
        assert [ann['category_id'] for ann in anns] == list(labels + 1)
        seen[split] = idx
    assert seen['val'].max() < 5000 <= seen['test'].min()
    assert seen['train'].max() < 60000


def test_coco_loads_in_pycocotools_and_mmdet(scenes):
    a = scenes / 'a'
    coco = COCO(str(a / 'annotations/instances_train.json'))
    assert len(coco.getImgIds()) == 6 and len(coco.getCatIds()) == 10
    first = coco.loadAnns(coco.getAnnIds(imgIds=[0]))
    np.testing.assert_array_equal(
        coco.annToMask(first[0]),
        mask_utils.decode(first[0]['segmentation']))

    init_default_scope('mmdet')
    from mmdet.datasets import CocoDataset
    ds = CocoDataset(
        data_root=str(a), ann_file='annotations/instances_train.json',
        data_prefix=dict(img='images/'),
        metainfo=dict(classes=tuple(c['name'] for c in coco.loadCats(
            coco.getCatIds()))),
        pipeline=[dict(type='LoadImageFromFile'),
                  dict(type='LoadAnnotations', with_bbox=True,
                       with_mask=True),
                  dict(type='PackDetInputs')])
    assert len(ds) == 6
    item = ds[0]
    assert tuple(item['inputs'].shape) == (3, 64, 64)
    gt = item['data_samples'].gt_instances
    assert len(gt) == len(first)
    np.testing.assert_array_equal(
        gt.labels.numpy(), [x['category_id'] - 1 for x in first])
    x, y, w, h = first[0]['bbox']
    np.testing.assert_allclose(gt.bboxes.tensor[0].numpy(),
                               [x, y, x + w, y + h])
    np.testing.assert_array_equal(gt.masks.masks[0], coco.annToMask(first[0]))


def test_semantic_maps_load_in_mmseg(scenes, tool):
    a = scenes / 'a'
    init_default_scope('mmseg')
    from mmseg.datasets import BaseSegDataset
    ds = BaseSegDataset(
        data_root=str(a), img_suffix='.png', seg_map_suffix='.png',
        data_prefix=dict(img_path='images/train', seg_map_path='seg/train'),
        metainfo=dict(classes=('background', *tool.CLASSES)),
        reduce_zero_label=False,
        pipeline=[dict(type='LoadImageFromFile'),
                  dict(type='LoadAnnotations'),
                  dict(type='PackSegInputs')])
    assert len(ds) == 6
    item = ds[1]
    assert tuple(item['inputs'].shape) == (3, 64, 64)
    np.testing.assert_array_equal(
        item['data_samples'].gt_sem_seg.data[0].numpy(),
        cv2.imread(str(a / 'seg/train/000001.png'), cv2.IMREAD_UNCHANGED))


@pytest.mark.parametrize('args, says', [
    (['--min-objects', '4', '--max-objects', '3'], '--max-objects'),
    (['--max-scale', '80'], '--max-scale'),
    (['--min-scale', '0'], '--min-scale'),
    (['--train', '0'], '--train'),
    (['--min-visible', '1.5'], '--min-visible'),
    (['--data-root', '{tmp}'], 'dataset-fashion-mnist'),
    (['--out', '{tmp}'], 'not a scenes folder'),
], ids=['objects', 'scale', 'min_scale', 'count', 'visible', 'no_data',
        'foreign_out'])
def test_bad_options_exit_with_one_line(args, says, tmp_path):
    args = [a.format(tmp=tmp_path) for a in args]
    if '--out' not in args:
        args += ['--out', str(tmp_path / 'out')]
    run = run_tool(TOOL, *args)
    assert run.returncode == 2
    errors = [line for line in run.stderr.splitlines() if 'error:' in line]
    assert len(errors) == 1 and says in errors[0], run.stderr
    assert os.listdir(tmp_path) == []  # nothing written


def test_impossible_layout_fails_with_one_line_and_writes_nothing(
        tmp_path, fmnist_root):
    run = run_tool(TOOL, '--out', tmp_path / 'out', '--size', '16',
                   '--min-scale', '16', '--max-scale', '16',
                   '--min-objects', '5',
                   '--min-visible', '1', *TINY)
    assert run.returncode == 1
    assert run.stderr.count('\n') == 1 and '--max-objects' in run.stderr
    assert os.listdir(tmp_path) == []
