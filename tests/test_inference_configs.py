"""mmpretrain's FeatureExtractor on every SymMIM / MixMask pretraining
config: the test pipeline gives the training resolution for images of any
size, and the features have the documented shapes (docs/inference.md)."""
import glob
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config

from mmpretrain.apis import FeatureExtractor
from mmsymmim.visualization.reconstruction import _find_type
from .harness import MIXMASK_DEMO, REPO, SYMMIM_DEMO, build_model

PRETRAINING = sorted(
    glob.glob(osp.join(REPO, 'configs/symmim/*.py')) +
    glob.glob(osp.join(REPO, 'configs/mixmask/*.py')))
VIT_B_IN1K = osp.join(
    REPO, 'configs/symmim/symmim_vit-base-p16_16xb256-amp-coslr-600e_in1k.py')
SIZES = ((28, 28), (20, 50), (300, 200))  # (h, w)


def images(tmp_path):
    """One image of each size, the last one as a file."""
    rng = np.random.default_rng(0)
    imgs = [rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for h, w in SIZES]
    path = str(tmp_path / 'last.png')
    cv2.imwrite(path, imgs[-1])
    return imgs[:-1] + [path]


def test_every_pretraining_config_found():
    assert len(PRETRAINING) >= 20
    assert not [p for p in PRETRAINING if 'benchmarks' in p]


@pytest.mark.parametrize('path', PRETRAINING,
                         ids=[osp.basename(p)[:-3] for p in PRETRAINING])
def test_test_pipeline_gives_the_training_resolution(path):
    cfg = Config.fromfile(path)
    # mmengine's Runner takes the three test_* keys together or not at all
    assert all(cfg.get(k) is not None
               for k in ('test_dataloader', 'test_cfg', 'test_evaluator'))
    size = _find_type(cfg.train_dataloader, 'RandomResizedCrop')['scale']
    pipeline = FeatureExtractor._init_pipeline(None, cfg)  # as it builds it
    for h, w in SIZES:
        img = np.zeros((h, w, 3), np.uint8)
        out = pipeline(dict(img=img, img_shape=(h, w), ori_shape=(h, w)))
        assert out['inputs'].shape == (3, size, size)
    # what extract_feat returns: all ViT tokens, the ResNet pooled
    if cfg.model.type == 'SymMIM':
        assert cfg.model.backbone.out_type == 'raw'
    else:
        assert cfg.model.type.startswith('MixMask')


def _checkpoint(config, tmp_path, seed):
    model = build_model(Config.fromfile(config), seed)
    path = str(tmp_path / f'seed{seed}.pth')
    torch.save(dict(state_dict=model.state_dict(), meta={}), path)
    return model, path


@pytest.mark.parametrize('config, shape', [
    (SYMMIM_DEMO, (65, 128)),  # class token + 8 x 8 patch tokens
    (MIXMASK_DEMO, (128, )),  # pooled last stage
])
def test_feature_extractor_loads_the_checkpoint(fmnist_root, tmp_path,
                                                config, shape):
    model, path = _checkpoint(config, tmp_path, seed=1)
    extractor = FeatureExtractor(config, pretrained=path, device='cpu')
    feats = extractor(images(tmp_path), batch_size=2)
    assert [tuple(f[0].shape) for f in feats] == [shape] * len(SIZES)
    # the checkpoint's weights, not a fresh init: the model that was saved
    model.eval()
    img = cv2.resize(images(tmp_path)[0], (32, 32))  # 28 px, square
    x = torch.from_numpy(img).permute(2, 0, 1)[None]
    with torch.no_grad():
        want = model.extract_feat(model.data_preprocessor(
            dict(inputs=x, data_samples=None), False)['inputs'])[0][0]
    torch.testing.assert_close(feats[0][0], want, atol=1e-4, rtol=1e-4)
    other = FeatureExtractor(config, pretrained=_checkpoint(
        config, tmp_path, seed=2)[1], device='cpu')(images(tmp_path)[0])
    assert not torch.allclose(other[0][0], want, atol=1e-3)


def test_feature_extractor_on_vit_b_in1k(tmp_path):
    extractor = FeatureExtractor(VIT_B_IN1K, pretrained=False, device='cpu')
    feats = extractor(images(tmp_path), batch_size=3)
    # class token + 14 x 14 patch tokens, whatever the image size
    assert [tuple(f[0].shape) for f in feats] == [(197, 768)] * len(SIZES)
