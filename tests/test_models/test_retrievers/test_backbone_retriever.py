"""BackboneRetriever: mmpretrain's ImageRetrievalInferencer on a pretraining
checkpoint, through
configs/symmim/benchmarks/retrieval_vit-tiny-p4_fmnist.py."""
import os.path as osp

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from mmengine.config import Config

from mmpretrain.apis import FeatureExtractor, ImageRetrievalInferencer
from mmpretrain.registry import MODELS
from mmsymmim.datasets.fashion_mnist import FashionMNISTIDX
from ...harness import REPO, SYMMIM_DEMO, build_model

RETRIEVAL = osp.join(
    REPO, 'configs/symmim/benchmarks/retrieval_vit-tiny-p4_fmnist.py')


def _folder(tmp_path, n=24):
    ds = FashionMNISTIDX(split='test', indices=n)
    paths = []
    for i in range(n):
        paths.append(str(tmp_path / 'images' / f'{i:03d}.png'))
        (tmp_path / 'images').mkdir(exist_ok=True)
        cv2.imwrite(paths[-1], ds.get_data_info(i)['img'][..., 0])
    return paths


def test_inferencer_ranks_the_folder_with_the_checkpoint(fmnist_root,
                                                         tmp_path):
    model = build_model(Config.fromfile(SYMMIM_DEMO), seed=3)
    ckpt = str(tmp_path / 'pretrain.pth')
    torch.save(dict(state_dict=model.state_dict(), meta={}), ckpt)
    paths = _folder(tmp_path)
    inferencer = ImageRetrievalInferencer(
        RETRIEVAL, prototype=str(tmp_path / 'images'), pretrained=ckpt,
        device='cpu')
    encoder = inferencer.model.image_encoder[0].state_dict()
    for key, value in model.backbone.state_dict().items():
        torch.testing.assert_close(encoder[key], value, msg=key)

    # the ranking is the cosine of the class tokens FeatureExtractor gives
    tokens = FeatureExtractor(SYMMIM_DEMO, pretrained=ckpt, device='cpu')(
        paths, batch_size=8)
    cls = F.normalize(torch.stack([t[0][0] for t in tokens]), dim=1)
    want = (cls[5] @ cls.T).topk(3)
    got = inferencer(paths[5], topk=3)[0]
    names = sorted(osp.basename(p) for p in paths)  # prototype order
    assert [names[m['sample_idx']] for m in got] == [
        osp.basename(paths[i]) for i in want.indices]
    torch.testing.assert_close(
        torch.stack([m['match_score'] for m in got]).cpu(), want.values,
        atol=1e-4, rtol=1e-4)
    assert abs(float(got[0]['match_score']) - 1) < 1e-5  # itself


def test_own_state_dict_loads_unchanged():
    cfg = Config.fromfile(RETRIEVAL)
    a, b = (MODELS.build(cfg.model) for _ in range(2))
    b.load_state_dict(a.state_dict(), strict=True)
    for (k, v), w in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.equal(v, w), k
    assert np.isfinite(sum(float(v.float().sum())
                           for v in b.state_dict().values()))
