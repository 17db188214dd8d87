"""The *_device-aug_* configs: the worker only decodes, crops, masks and
packs uint8; the device recipe is the CPU config's view recipe less its crop;
masks come from the crop's token grid; a demo step trains."""
import glob
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import Compose, default_collate

from mmpretrain.registry import MODELS
from .harness import REPO, TINY_ARCH, build_model, real_batch, tiny_cfg

DEVICE_AUG = sorted(glob.glob(osp.join(REPO, 'configs/*/*device-aug*.py')))
DEMO = osp.join(REPO,
                'configs/symmim/symmim_vit-tiny-p4_device-aug_1xb128-400i_fmnist.py')
WORKER_TYPES = {'LoadImageFromFile', 'SafeLoadImageFromFile', 'MultiView',
                'SymmetricMaskGenerator', 'PackInputs'}


def cpu_twin(path):
    """The CPU-pipeline config a device-aug config splits."""
    name = osp.basename(path).replace('_device-aug', '')
    twin = osp.join(osp.dirname(path), name)
    assert osp.isfile(twin), twin
    return twin


def plain(obj):
    """``obj`` without the ``_scope_`` keys mmengine adds to dicts read
    through ``_base_.``."""
    if isinstance(obj, dict):
        return {k: plain(v) for k, v in obj.items() if k != '_scope_'}
    if isinstance(obj, (list, tuple)):
        return [plain(v) for v in obj]
    return obj


def preprocessor(cfg):
    return cfg.model.get('data_preprocessor') or cfg.data_preprocessor


def views_of(pipeline):
    mv = [t for t in pipeline if t['type'] == 'MultiView'][0]
    views = mv['transforms']
    n = mv['num_views']
    return views * n if isinstance(n, int) else views


def test_every_variant_found():
    names = [osp.basename(p) for p in DEVICE_AUG]
    for arch in ('small', 'base', 'large'):
        assert any(f'vit-{arch}-p16_device-aug' in n and n.endswith('_in1k.py')
                   for n in names), arch
    assert any('vit-base-p16_device-aug' in n and n.endswith('_folder.py')
               for n in names)
    assert sum(n.startswith('mixmask-mocov2_resnet50_device-aug')
               for n in names) == 2


@pytest.mark.parametrize('path', DEVICE_AUG,
                         ids=[osp.basename(p) for p in DEVICE_AUG])
def test_worker_crops_device_does_the_rest_of_the_same_recipe(path):
    cfg, twin = Config.fromfile(path), Config.fromfile(cpu_twin(path))
    pipe = cfg.train_dataloader.dataset.pipeline
    assert {t['type'] for t in pipe} <= WORKER_TYPES
    worker_views = plain(views_of(pipe))
    cpu_views = plain(views_of(twin.train_dataloader.dataset.pipeline))
    assert all([t['type'] for t in v] == ['RandomResizedCrop']
               for v in worker_views)
    # crop = the CPU recipe's crop; device ops = the CPU recipe's other ops
    assert [v[0] for v in worker_views] == [v[0] for v in cpu_views]
    pre = preprocessor(cfg)
    assert pre['type'] == 'ViewAugDataPreprocessor'
    assert plain(pre.view_aug['views']) == [v[1:] for v in cpu_views]
    twin_pre = preprocessor(twin)
    for k in ('mean', 'std', 'to_rgb'):
        assert pre[k] == twin_pre[k], k
    masks = [t for t in pipe if t['type'] == 'SymmetricMaskGenerator']
    for m in masks:  # the board is drawn on the crop's token grid
        assert all(v[0]['scale'] == m['input_size'] for v in worker_views)


def test_masks_line_up_with_the_crops(tmp_path):
    """The ViT-B worker pipeline on a 500x375 JPEG: two uint8 224 px crops
    and masks of their 14 x 14 token grid; the preprocessor keeps the pixel
    grid, so mask token (i, j) still covers pixels 16i.., 16j.. ."""
    path = [p for p in DEVICE_AUG if 'vit-base' in p and 'in1k' in p][0]
    cfg = Config.fromfile(path)
    img = np.random.default_rng(0).integers(0, 256, (375, 500, 3), np.uint8)
    cv2.imwrite(str(tmp_path / 'a.jpg'), img)
    out = Compose(cfg.train_dataloader.dataset.pipeline)(
        dict(img_path=str(tmp_path / 'a.jpg')))
    assert [tuple(v.shape) for v in out['inputs']] == [(3, 224, 224)] * 2
    assert all(v.dtype == torch.uint8 for v in out['inputs'])
    ds = out['data_samples']
    assert tuple(ds.mask.shape) == (2, 14, 14)
    assert tuple(ds.ema_mask.shape) == (2, 14, 14)
    pre = MODELS.build(preprocessor(cfg))
    views = pre(default_collate([out, out]), training=True)['inputs']
    assert [tuple(v.shape) for v in views] == [(2, 3, 224, 224)] * 2
    assert 224 // cfg.model.backbone.get('patch_size', 16) == 14


@pytest.mark.parametrize('recipe', ['demo', 'mocov3'])
def test_demo_step_with_device_aug_has_finite_losses(recipe):
    cfg = tiny_cfg(DEMO)
    cfg.model.backbone.arch = dict(TINY_ARCH)
    cfg.model.neck.in_channels = TINY_ARCH['embed_dims']
    cfg.model.mim_neck.embed_dim = TINY_ARCH['embed_dims']
    if recipe == 'mocov3':  # the whole ImageNet recipe on the demo's images
        from .test_models.test_utils.test_batch_augments.\
            test_device_view_augment import MOCOV3
        cfg.model.data_preprocessor.view_aug.views = MOCOV3
    model = build_model(cfg)
    batch = real_batch(cfg, 8)
    assert all(v.dtype == torch.uint8 for v in batch['inputs'])
    torch.manual_seed(0)
    data = model.data_preprocessor(batch, training=True)
    losses = model(**data, mode='loss')
    total = sum(v for k, v in losses.items() if k.startswith('loss'))
    assert torch.isfinite(total), losses
    total.backward()
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)
