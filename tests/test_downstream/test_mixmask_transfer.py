"""A MixMask ResNet-50 checkpoint flows into mmdet's Mask R-CNN R50-FPN and
mmseg's UperNet R50 (configs/mixmask/benchmarks/*_coco.py, *_ade20k-*.py):
the MixMask-MoCo v2 R50 config trains two iterations through tools/train.py
(the config sweep's run, on its tiny ImageNet layout), then each downstream
config loads every backbone tensor of that checkpoint and trains two
iterations through mmdet's / mmseg's own tools/train.py."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from .. import config_sweep as sweep
from .. import sweep_checks, sweep_data
from ..harness import REPO, TRAIN, once_per_session, run_tool
from .test_transfer import build_and_init, own_tool, train_two_iters

# a ResNet-50 pretraining, then Mask R-CNN and UperNet R50 (2 min together)
pytestmark = pytest.mark.slow

PRETRAIN = osp.join(
    REPO, 'configs/mixmask/mixmask-mocov2_resnet50_8xb32-coslr-200e_in1k.py')
MASK_RCNN = osp.join(
    REPO, 'configs/mixmask/benchmarks/mask-rcnn_resnet50_fpn_8xb2-1x_coco.py')
UPERNET = osp.join(
    REPO, 'configs/mixmask/benchmarks/'
    'upernet_resnet50_8xb2-160k_ade20k-512x512.py')


@pytest.fixture(scope='module')
def r50_ckpt(tmp_path_factory, fmnist_root):
    def pretrain(folder):
        data = sweep_data.make_data(folder / 'data', fmnist_root)
        work = str(folder / 'work')
        config, opts = sweep.sweep_run(PRETRAIN, data, work)
        proc = run_tool(TRAIN, config, '--work-dir', work, '--cfg-options',
                        *opts)
        assert proc.returncode == 0, proc.out[-3000:]

    folder = once_per_session(tmp_path_factory, 'mixmask_r50_pretrain',
                              pretrain)
    return sweep_checks.last_checkpoint(str(folder / 'work'))


def assert_resnet_loaded(backbone, ckpt_path):
    ckpt = torch.load(ckpt_path, map_location='cpu',
                      weights_only=True)['state_dict']
    for name, value in backbone.state_dict().items():
        torch.testing.assert_close(value, ckpt['backbone.' + name], rtol=0,
                                   atol=0, msg=f'backbone.{name} differs')


def tiny_data(cfg, dataset: dict, batch: int = 2) -> None:
    """The test's tiny data set in the config's loader, no validation."""
    cfg.train_dataloader = dict(
        batch_size=batch, num_workers=0, persistent_workers=False,
        sampler=dict(type='DefaultSampler', shuffle=True),
        batch_sampler=None, dataset=dataset)


def test_mask_rcnn_from_mixmask(r50_ckpt, coco_root, tmp_path):
    from .conftest import CLASSES
    cfg = Config.fromfile(MASK_RCNN)
    cfg.model.backbone.init_cfg.checkpoint = r50_ckpt
    cfg.model.roi_head.bbox_head.num_classes = len(CLASSES)
    cfg.model.roi_head.mask_head.num_classes = len(CLASSES)
    # mmdet's self-supervised transfer protocol, as shipped
    assert cfg.model.backbone.norm_cfg.type == 'SyncBN'
    assert cfg.model.neck.norm_cfg.type == 'SyncBN'
    assert not cfg.model.backbone.norm_eval
    assert cfg.model.backbone.frozen_stages == 0
    model = build_and_init(cfg, 'mmdet')
    assert_resnet_loaded(model.backbone, r50_ckpt)
    tiny_data(cfg, dict(
        type='CocoDataset', data_root=str(coco_root), ann_file='train.json',
        data_prefix=dict(img='train/'), metainfo=dict(classes=CLASSES),
        filter_cfg=dict(filter_empty_gt=True, min_size=8),
        pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
            dict(type='RandomFlip', prob=0.5),
            dict(type='PackDetInputs'),
        ]))
    scalars = train_two_iters(cfg, tmp_path, own_tool('mmdet'))
    assert any('loss_mask' in s for s in scalars)


def test_upernet_from_mixmask(r50_ckpt, ade_root, tmp_path):
    cfg = Config.fromfile(UPERNET)
    cfg.model.backbone.init_cfg.checkpoint = r50_ckpt
    cfg.model.data_preprocessor.size = (64, 64)
    model = build_and_init(cfg, 'mmseg')
    assert_resnet_loaded(model.backbone, r50_ckpt)
    tiny_data(cfg, dict(
        type='ADE20KDataset', data_root=str(ade_root),
        data_prefix=dict(img_path='images/training',
                         seg_map_path='annotations/training'),
        pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='LoadAnnotations', reduce_zero_label=True),
            dict(type='RandomFlip', prob=0.5),
            dict(type='PackSegInputs'),
        ]))
    cfg.train_dataloader.sampler = dict(type='InfiniteSampler', shuffle=True)
    scalars = train_two_iters(cfg, tmp_path, own_tool('mmseg'))
    assert any('decode.loss_ce' in s for s in scalars)
