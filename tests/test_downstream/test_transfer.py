"""A SymMIM checkpoint flows into mmdet Mask R-CNN and mmseg UperNet.

Builds tiny COCO- and ADE20K-format data sets from real Fashion-MNIST images
(masks from thresholding the garment), pretrains a tiny SymMIM ViT for two
iterations with tools/train.py, then checks that the downstream configs load
every backbone weight from it, and trains each detector / segmentor for two
iterations with finite losses through mmdet's / mmseg's own tools/train.py.
"""
import json
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

from mmpretrain.models.utils import resize_pos_embed
from ..harness import REPO, TRAIN, run_tool, tiny_arch
from .conftest import CLASSES, SIZE

ARCH = tiny_arch(4)  # 4 blocks: 4 feature levels for UperNet

MASK_RCNN = osp.join(
    REPO, 'configs/symmim/benchmarks/'
    'mask-rcnn_vit-base-p16_simple-fpn_8xb8-amp-lsj-100e_coco.py')
UPERNET = osp.join(
    REPO, 'configs/symmim/benchmarks/'
    'upernet_vit-base-p16_8xb2-amp-160k_ade20k-512x512.py')
FINETUNE = osp.join(
    REPO, 'configs/symmim/benchmarks/vit-base-p16_8xb128-coslr-100e_in1k.py')
LINEAR = osp.join(
    REPO, 'configs/symmim/benchmarks/'
    'vit-base-p16_8xb128-linear-coslr-90e_in1k.py')


def run(args, cwd=REPO):
    proc = run_tool(*args, cwd=cwd)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    return proc.out


def tiny_backbone(cfg):
    cfg.model.backbone.arch = ARCH
    cfg.model.backbone.patch_size = 4
    cfg.model.backbone.img_size = SIZE


def mask_rcnn_cfg(pretrained, coco_root):
    cfg = Config.fromfile(MASK_RCNN)
    tiny_backbone(cfg)
    cfg.model.backbone.window_size = 4
    cfg.model.backbone.global_attn_indices = (1, 3)
    cfg.model.backbone.init_cfg.checkpoint = pretrained
    # the stride-4 map of a patch-4 ViT: levels x1, x0.5 and P6 (strides 4,
    # 8, 16), which the anchors and RoI extractors must follow
    # (PyramidStrideCheckHook fails the run otherwise)
    cfg.model.neck.update(in_channels=ARCH['embed_dims'],
                          scale_factors=(1.0, 0.5), num_outs=3)
    cfg.model.rpn_head.anchor_generator.update(scales=[4], strides=[4, 8, 16])
    for ext in ('bbox_roi_extractor', 'mask_roi_extractor'):
        cfg.model.roi_head[ext].featmap_strides = [4, 8, 16]
    cfg.model.data_preprocessor.batch_augments = [
        dict(type='BatchFixedSizePad', size=(SIZE, SIZE), pad_mask=True)]
    cfg.model.roi_head.bbox_head.num_classes = len(CLASSES)
    cfg.model.roi_head.mask_head.num_classes = len(CLASSES)
    cfg.train_dataloader = dict(
        batch_size=2, num_workers=0, persistent_workers=False,
        sampler=dict(type='DefaultSampler', shuffle=True),
        batch_sampler=None,
        dataset=dict(
            type='CocoDataset', data_root=str(coco_root),
            ann_file='train.json', data_prefix=dict(img='train/'),
            metainfo=dict(classes=CLASSES),
            filter_cfg=dict(filter_empty_gt=True, min_size=8),
            pipeline=[
                dict(type='LoadImageFromFile'),
                dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
                dict(type='RandomFlip', prob=0.5),
                dict(type='PackDetInputs'),
            ]))
    return cfg


def upernet_cfg(pretrained, ade_root):
    cfg = Config.fromfile(UPERNET)
    tiny_backbone(cfg)
    cfg.model.backbone.out_indices = [0, 1, 2, 3]
    cfg.model.backbone.init_cfg.checkpoint = pretrained
    cfg.model.data_preprocessor.size = (SIZE, SIZE)
    cfg.model.neck.embed_dim = ARCH['embed_dims']
    cfg.model.decode_head.in_channels = [ARCH['embed_dims']] * 4
    cfg.model.decode_head.channels = 32
    cfg.model.auxiliary_head.in_channels = ARCH['embed_dims']
    cfg.model.auxiliary_head.channels = 32
    cfg.train_dataloader = dict(
        batch_size=2, num_workers=0, persistent_workers=False,
        sampler=dict(type='InfiniteSampler', shuffle=True),
        dataset=dict(
            type='ADE20KDataset', data_root=str(ade_root),
            data_prefix=dict(img_path='images/training',
                             seg_map_path='annotations/training'),
            pipeline=[
                dict(type='LoadImageFromFile'),
                dict(type='LoadAnnotations', reduce_zero_label=True),
                dict(type='RandomFlip', prob=0.5),
                dict(type='PackSegInputs'),
            ]))
    return cfg


def build_and_init(cfg, scope):
    if scope == 'mmdet':
        from mmdet.registry import MODELS
        from mmdet.utils import register_all_modules
    else:
        from mmseg.registry import MODELS
        from mmseg.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    with DefaultScope.overwrite_default_scope(scope):
        model = MODELS.build(cfg.model)
        model.init_weights()
    return model


def assert_backbone_loaded(backbone, ckpt_path, grid_from, grid_to):
    """Every backbone tensor comes from the checkpoint (none left at init)."""
    ckpt = torch.load(ckpt_path, map_location='cpu',
                      weights_only=True)['state_dict']
    src = {k[len('backbone.'):]: v for k, v in ckpt.items()
           if k.startswith('backbone.')}
    state = backbone.state_dict()
    missing = [k for k in state if k not in src]
    assert not missing, f'backbone keys not in the checkpoint: {missing}'
    for name, value in state.items():
        expected = src[name]
        if name == 'pos_embed':
            extra = backbone.num_extra_tokens
            expected = expected[:, 1 - extra:] if extra == 0 else expected
            expected = resize_pos_embed(expected, grid_from, grid_to,
                                        'bicubic', extra)
        torch.testing.assert_close(value, expected, rtol=0, atol=1e-6,
                                   msg=f'backbone.{name} differs')


def own_tool(package):
    """mmdet's / mmseg's own tools/train.py, shipped inside the package."""
    import importlib
    root = osp.dirname(importlib.import_module(package).__file__)
    return osp.join(root, '.mim', 'tools', 'train.py')


def train_two_iters(cfg, tmp_path, tool=TRAIN):
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=2)
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.test_cfg = cfg.test_dataloader = cfg.test_evaluator = None
    cfg.param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=False)]
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=100)
    cfg.optim_wrapper.type = 'OptimWrapper'  # no AMP on CPU
    cfg.optim_wrapper.pop('loss_scale', None)
    cfg.work_dir = str(tmp_path / 'work')
    cfg_path = tmp_path / 'cfg.py'
    cfg.dump(str(cfg_path))
    run([tool, str(cfg_path), '--work-dir', cfg.work_dir])
    scalars = [json.loads(line) for line in open(
        next((tmp_path / 'work').rglob('scalars.json')))]
    losses = [s['loss'] for s in scalars if 'loss' in s]
    assert len(losses) == 2 and all(np.isfinite(losses)), losses
    return scalars


@pytest.mark.parametrize('config', [FINETUNE, LINEAR],
                         ids=['fine-tune', 'linear'])
def test_classification_configs_load(tiny_symmim_ckpt, config):
    from mmpretrain.registry import MODELS
    cfg = Config.fromfile(config)
    cfg.model.backbone.update(arch=ARCH, patch_size=4, img_size=32)
    if 'frozen_stages' in cfg.model.backbone:  # linear probe: all blocks
        cfg.model.backbone.frozen_stages = ARCH['num_layers']
    cfg.model.backbone.init_cfg.checkpoint = tiny_symmim_ckpt
    cfg.model.head.in_channels = ARCH['embed_dims']
    model = MODELS.build(cfg.model)
    model.init_weights()
    assert_backbone_loaded(model.backbone, tiny_symmim_ckpt, (8, 8), (8, 8))


@pytest.mark.slow
def test_mask_rcnn_from_symmim(tiny_symmim_ckpt, coco_root, tmp_path):
    cfg = mask_rcnn_cfg(tiny_symmim_ckpt, coco_root)
    model = build_and_init(cfg, 'mmdet')
    assert_backbone_loaded(model.backbone, tiny_symmim_ckpt, (8, 8), (16, 16))
    out = model.backbone(torch.randn(1, 3, SIZE, SIZE))
    assert out[0].shape == (1, ARCH['embed_dims'], 16, 16)
    scalars = train_two_iters(cfg, tmp_path, own_tool('mmdet'))
    assert any('loss_mask' in s for s in scalars)


def test_upernet_from_symmim(tiny_symmim_ckpt, ade_root, tmp_path):
    cfg = upernet_cfg(tiny_symmim_ckpt, ade_root)
    model = build_and_init(cfg, 'mmseg')
    assert_backbone_loaded(model.backbone, tiny_symmim_ckpt, (8, 8), (16, 16))
    scalars = train_two_iters(cfg, tmp_path, own_tool('mmseg'))
    assert any('decode.loss_ce' in s for s in scalars)


def test_layer_decay_groups(tiny_symmim_ckpt, coco_root):
    """Deeper blocks get larger lrs; neck/heads the full lr."""
    from mmengine.optim import build_optim_wrapper
    cfg = mask_rcnn_cfg(tiny_symmim_ckpt, coco_root)
    model = build_and_init(cfg, 'mmdet')
    optim_cfg = dict(cfg.optim_wrapper, type='OptimWrapper')
    optim_cfg.pop('loss_scale', None)
    with DefaultScope.overwrite_default_scope('mmdet'):
        wrapper = build_optim_wrapper(model, optim_cfg)
    lrs = {g['param_name']: g['lr'] for g in wrapper.optimizer.param_groups}
    base = cfg.optim_wrapper.optimizer.lr
    assert lrs['backbone.layers.3.ffn.layers.1.weight'] == pytest.approx(
        base * 0.7)
    assert lrs['backbone.layers.0.ffn.layers.1.weight'] == pytest.approx(
        base * 0.7**4)
    assert lrs['backbone.patch_embed.projection.weight'] == pytest.approx(
        base * 0.7**5)
    assert lrs['neck.stages.0.0.weight'] == pytest.approx(base)
