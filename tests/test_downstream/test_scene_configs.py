"""The Fashion-MNIST scene configs guard the transfer flow: they feed the
backbone the pixel statistics it was pretrained with, their pyramids sit at
the strides their anchors and RoI extractors assume, and a checkpoint that
did not load fails the run."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

from ..harness import MIXMASK_DEMO, REPO, SYMMIM_DEMO
from .test_transfer import build_and_init

SCENES = {
    'vit-det': 'configs/symmim/benchmarks/'
    'mask-rcnn_vit-tiny-p4_simple-fpn_1xb8-800i_fmnist-scenes.py',
    'vit-seg': 'configs/symmim/benchmarks/'
    'upernet_vit-tiny-p4_1xb8-800i_fmnist-scenes.py',
    'resnet-det': 'configs/mixmask/benchmarks/'
    'mask-rcnn_resnet18-tiny_fpn_1xb8-800i_fmnist-scenes.py',
    'resnet-seg': 'configs/mixmask/benchmarks/'
    'upernet_resnet18-tiny_1xb8-800i_fmnist-scenes.py',
}


def scene_cfg(name: str) -> Config:
    return Config.fromfile(osp.join(REPO, SCENES[name]))


@pytest.mark.parametrize('name', list(SCENES))
def test_pixels_as_in_pretraining(name):
    """Same mean, std and channel order as the pretraining demo whose
    backbone the config takes."""
    pre = Config.fromfile(SYMMIM_DEMO if name.startswith('vit') else
                          MIXMASK_DEMO).model.data_preprocessor
    down = scene_cfg(name).model.data_preprocessor
    assert list(down.mean) == list(pre.mean)
    assert list(down.std) == list(pre.std)
    assert down.bgr_to_rgb == pre.get('to_rgb', False)


@pytest.mark.parametrize('name', list(SCENES))
def test_backbone_is_the_pretrained_one(name):
    """The scene config's backbone is the pretraining demo's (same tensors,
    same shapes), so the checkpoint loads whole."""
    from mmpretrain.registry import MODELS
    pre = Config.fromfile(SYMMIM_DEMO if name.startswith('vit') else
                          MIXMASK_DEMO).model.backbone
    cfg = scene_cfg(name)
    cfg.model.backbone.init_cfg = None
    scope = 'mmdet' if name.endswith('det') else 'mmseg'
    down = build_and_init(cfg, scope).backbone.state_dict()
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        up = MODELS.build(pre).state_dict()
    for k, v in down.items():
        assert k in up, k
        if 'pos_embed' not in k:
            assert v.shape == up[k].shape, k


def test_pyramid_strides_checked():
    from mmsymmim.downstream.det import check_pyramid_strides
    cfg = scene_cfg('vit-det')
    cfg.model.backbone.init_cfg = None
    model = build_and_init(cfg, 'mmdet')
    assert check_pyramid_strides(model) == [4, 8, 16]
    # ViT-B/16's pyramid on the patch-4 ViT: levels at strides 1-16
    cfg.model.neck.update(scale_factors=(4.0, 2.0, 1.0, 0.5), num_outs=5)
    cfg.model.rpn_head.anchor_generator.strides = [4, 8, 16, 32, 64]
    model = build_and_init(cfg, 'mmdet')
    with pytest.raises(ValueError, match=r'anchor_generator.strides is '
                       r'\[4, 8, 16, 32, 64\], but the neck gives levels at '
                       r"strides \['1', '2', '4', '8', '16'\]"):
        check_pyramid_strides(model)


def test_resnet_pyramid_strides():
    from mmsymmim.downstream.det import check_pyramid_strides
    cfg = scene_cfg('resnet-det')
    cfg.model.backbone.init_cfg = None
    assert check_pyramid_strides(build_and_init(cfg, 'mmdet')) == [4, 8, 16]


@pytest.mark.parametrize('name', ['vit-det', 'vit-seg'])
def test_wrong_prefix_fails(name, tiny_symmim_ckpt):
    """A prefix that holds no backbone tensor, or a backbone left at its
    init, is an error naming the prefix, not a warning."""
    from mmsymmim.downstream.pretrained_check import check_backbone_loaded
    cfg = scene_cfg(name)
    arch = dict(embed_dims=64, num_layers=4, num_heads=2,
                feedforward_channels=128)  # the tiny test checkpoint's
    cfg.model.backbone.arch = arch
    if name == 'vit-det':
        cfg.model.neck.in_channels = 64
    else:
        cfg.model.neck.embed_dim = 64
        cfg.model.decode_head.in_channels = [64] * 4
        cfg.model.auxiliary_head.in_channels = 64
    cfg.model.backbone.init_cfg.checkpoint = tiny_symmim_ckpt
    scope = 'mmdet' if name.endswith('det') else 'mmseg'
    model = build_and_init(cfg, scope)
    init = dict(cfg.model.backbone.init_cfg)
    assert check_backbone_loaded(model.backbone, init) > 10
    with pytest.raises(KeyError, match=r"prefix=None: .* not in .*"
                       r"prefixes are \[.*'backbone\.'"):
        check_backbone_loaded(model.backbone, dict(init, prefix=None))
    with pytest.raises(KeyError, match=r"prefix='neck\.'"):
        check_backbone_loaded(model.backbone, dict(init, prefix='neck.'))
    cfg.model.backbone.init_cfg = None  # loads nothing: all at init
    fresh = build_and_init(cfg, scope)
    with pytest.raises(ValueError, match='were not loaded'):
        check_backbone_loaded(fresh.backbone, init)


def test_scene_configs_train_in_sweep_or_study():
    """Each scene config is trained somewhere: the config sweep names the
    transfer study's test for it."""
    from .. import config_sweep as sweep
    for path in SCENES.values():
        assert path in sweep.NOT_TRAINED_HERE, path
        assert 'test_study/test_transfer/test_command.py' in \
            sweep.NOT_TRAINED_HERE[path]


def test_strides_measured_on_cpu_without_grad():
    from mmsymmim.downstream.det import check_pyramid_strides
    cfg = scene_cfg('resnet-det')
    cfg.model.backbone.init_cfg = None
    model = build_and_init(cfg, 'mmdet')
    model.train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    check_pyramid_strides(model, size=128)
    assert model.training
    for k, v in model.state_dict().items():  # BN statistics untouched
        assert torch.equal(v, before[k]), k
