"""Pretraining on a folder of images, and the one-line data check that
tools/train.py runs before it builds the model."""
import copy
import importlib.util
import os.path as osp

import cv2
import numpy as np
import pytest
from mmengine.config import Config
from mmengine.runner import Runner

from mmsymmim.datasets import FashionMNISTIDX, find_data_problem
from ..harness import REPO, TRAIN, run_tool, run_train, train_cmd

TINY_FOLDER = osp.join(REPO,
                       'configs/symmim/symmim_vit-tiny-p4_1xb128-400i_folder.py')
FOLDER_CONFIGS = [
    osp.join(REPO, 'configs/symmim/'
             'symmim_vit-base-p16_16xb256-amp-coslr-600e_folder.py'),
    osp.join(REPO, 'configs/mixmask/'
             'mixmask-mocov2_resnet50_8xb32-coslr-200e_folder.py'),
]
VIT_B_IN1K = osp.join(
    REPO, 'configs/symmim/symmim_vit-base-p16_16xb256-amp-coslr-600e_in1k.py')
ROOT_KEY = 'train_dataloader.dataset.data_root'


def write_jpegs(folder, fmnist_root, n=15, bad=('broken.jpg', )):
    """``n`` Fashion-MNIST test images as 40x40 colour JPEGs (half in a
    sub-folder) plus undecodable files named ``bad``."""
    ds = FashionMNISTIDX(data_root=fmnist_root, split='test', indices=n)
    (folder / 'sub').mkdir(parents=True)
    for i in range(n):
        img = cv2.resize(ds.get_data_info(i)['img'], (40, 40))
        img = (img * np.array([1., .8, .6])).astype(np.uint8)  # colour
        sub = folder / 'sub' if i % 2 else folder
        assert cv2.imwrite(str(sub / f'img_{i:02d}.jpg'), img)
    for name in bad:
        (folder / name).write_bytes(b'not a JPEG at all' * 10)
    return folder


@pytest.fixture
def jpeg_folder(tmp_path, fmnist_root):
    return write_jpegs(tmp_path / 'images', fmnist_root)


def test_tiny_symmim_trains_on_a_folder_with_a_corrupt_jpeg(
        jpeg_folder, tmp_path):
    # 15 good + 1 corrupt file = one batch of 16: the corrupt one is drawn
    work = tmp_path / 'work'
    out = run_train(work, 2, config=TINY_FOLDER, options=[
        f'{ROOT_KEY}={jpeg_folder}', 'custom_hooks=[]'
    ]).out
    assert 'skipping unreadable image' in out and 'broken.jpg' in out
    assert 'loss_mim' in out and 'loss_con' in out
    assert (work / 'iter_2.pth').is_file()


def _unscoped(cfg):
    """``cfg`` without the ``_scope_`` keys that `_base_.x` of a package
    config carries."""
    if isinstance(cfg, dict):
        return {k: _unscoped(v) for k, v in cfg.items() if k != '_scope_'}
    if isinstance(cfg, (list, tuple)):
        return [_unscoped(v) for v in cfg]
    return cfg


@pytest.mark.parametrize('path', FOLDER_CONFIGS,
                         ids=[osp.basename(p) for p in FOLDER_CONFIGS])
def test_folder_configs_load_any_folder(jpeg_folder, path):
    from mmpretrain.registry import DATASETS
    cfg = Config.fromfile(path)
    cfg.merge_from_dict({ROOT_KEY: str(jpeg_folder)})
    ds_cfg = cfg.train_dataloader.dataset
    assert ds_cfg.type == 'CustomDataset' and ds_cfg.with_label is False
    assert ds_cfg.pipeline[0] == dict(type='SafeLoadImageFromFile',
                                      on_error='skip')
    # the rest of the pipeline is the ImageNet config's
    base = Config.fromfile(path.replace('_folder.py', '_in1k.py'))
    assert _unscoped(ds_cfg.pipeline[1:]) == _unscoped(
        base.train_dataloader.dataset.pipeline[1:])
    assert find_data_problem(ds_cfg) is None
    dataset = DATASETS.build(ds_cfg)
    assert len(dataset) == 16  # sub-folders included, corrupt file listed
    bad = [i for i in range(16)
           if dataset.get_data_info(i)['img_path'].endswith('broken.jpg')]
    item = dataset[bad[0]]  # skipped: another image comes back
    assert [v.shape[-2:] for v in item['inputs']] == [(224, 224)] * 2


def _load_train_main():
    spec = importlib.util.spec_from_file_location('_train_tool', TRAIN)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main


class ModelBuilt(Exception):
    pass


def _train_until_model(monkeypatch, tmp_path, data_root) -> str:
    """tools/train.py's main on the tiny folder config; returns the message
    it exits with. Fails if the Runner got as far as building the model."""

    def build_model(self, model):
        raise ModelBuilt

    monkeypatch.setattr(Runner, 'build_model', build_model)
    monkeypatch.setenv('LOCAL_RANK', '0')  # main() sets it
    monkeypatch.setattr('sys.argv', [
        TRAIN, TINY_FOLDER, '--work-dir',
        str(tmp_path / 'work'), '--cfg-options', f'{ROOT_KEY}={data_root}'
    ])
    with pytest.raises(SystemExit) as exc:
        _load_train_main()()
    return str(exc.value)


def _unreadable(folder):
    folder.mkdir()
    for name in ('a.jpg', 'b.png', 'c.JPEG'):
        (folder / name).write_bytes(b'\x00garbage' * 20)
    (folder / 'notes.txt').write_text('not an image')
    return folder


@pytest.mark.parametrize('case,expected', [
    ('missing', ['No training images: folder', 'does not exist']),
    ('empty', ['No training images:', 'holds no image files']),
    ('unreadable', ['No readable training images: all 3 image file(s)',
                    'fail to decode', 'Replace them with valid images']),
])
def test_bad_folder_stops_before_the_model(monkeypatch, tmp_path, case,
                                           expected):
    folder = tmp_path / 'images'
    if case == 'empty':
        folder.mkdir()
        (folder / 'readme.txt').write_text('no images here')
    elif case == 'unreadable':
        _unreadable(folder)
    msg = _train_until_model(monkeypatch, tmp_path, folder)
    assert str(folder) in msg and '\n' not in msg
    for text in expected:
        assert text in msg
    assert f'--cfg-options {ROOT_KEY}=' in msg
    assert not (tmp_path / 'work').exists()  # the Runner never started


def test_one_line_no_traceback(tmp_path):
    missing = tmp_path / 'nowhere'
    proc = run_tool(*train_cmd(tmp_path / 'work', 2, config=TINY_FOLDER,
                               options=[f'{ROOT_KEY}={missing}',
                                        'custom_hooks=[]'])[1:])
    assert proc.returncode == 1
    assert proc.stdout == '' and 'Traceback' not in proc.stderr
    # the last line, and the only one that is not an upstream import warning
    lines = [line for line in proc.stderr.strip().splitlines()
             if 'Warning: ' not in line and not line.startswith('  ')]
    assert len(lines) == 1, proc.stderr[-2000:]
    assert proc.stderr.strip().splitlines()[-1] == lines[0]
    assert lines[0].startswith(f'No training images: folder {missing} ')


def test_imagenet_configs_name_their_layout(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # no data/imagenet here
    ds_cfg = Config.fromfile(VIT_B_IN1K).train_dataloader.dataset
    msg = find_data_problem(ds_cfg)
    for text in ('data/imagenet/train', 'meta/train.txt',
                 '<class>/<image>.JPEG <label>', ROOT_KEY, '_folder.py'):
        assert text in msg
    # train/ without meta/train.txt needs the 1000 class folders
    (tmp_path / 'data/imagenet/train/n01').mkdir(parents=True)
    msg = find_data_problem(ds_cfg)
    assert 'has 1 class folders, not 1000' in msg
    # the full layout (a file list and readable images) passes
    cv2.imwrite(str(tmp_path / 'data/imagenet/train/n01/x.JPEG'),
                np.zeros((8, 8, 3), np.uint8))
    (tmp_path / 'data/imagenet/meta').mkdir()
    (tmp_path / 'data/imagenet/meta/train.txt').write_text('n01/x.JPEG 0\n')
    assert find_data_problem(ds_cfg) is None
    # ... but not when the listed images are unreadable
    (tmp_path / 'data/imagenet/train/n01/x.JPEG').write_bytes(b'junk')
    assert 'fail to decode' in find_data_problem(ds_cfg)


def test_wrappers_and_fashion_mnist(tmp_path, jpeg_folder):
    ok = dict(type='CustomDataset', data_root=str(jpeg_folder),
              with_label=False)
    bad = dict(ok, data_root=str(tmp_path / 'nowhere'))
    assert find_data_problem(dict(type='RepeatDataset', times=2,
                                  dataset=ok)) is None
    assert 'nowhere' in find_data_problem(
        dict(type='ConcatDataset', datasets=[ok, copy.deepcopy(bad)]))
    fm = dict(type='FashionMNISTIDX', data_root=str(tmp_path), split='train')
    assert 'dataset-fashion-mnist' in find_data_problem(fm)
    # unknown kinds and remote storage pass unchecked
    assert find_data_problem(dict(type='NoSuchDataset')) is None
    assert find_data_problem(dict(ok, data_root='s3://bucket/x')) is None
