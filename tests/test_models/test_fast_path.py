"""The speed levers keep the function: same losses, same EMA, same masks."""
import copy
import math

import numpy as np
import pytest
import torch
from mmengine.logging import MessageHub

from mmpretrain.models.utils import CosineEMA
from mmpretrain.registry import MODELS
from mmsymmim.datasets.transforms import SymmetricMaskGenerator
from mmsymmim.models.utils import ForeachCosineEMA
from .test_symmim import build, real_batch, tiny_cfg


@pytest.fixture(autouse=True)
def hub():
    MessageHub.get_current_instance().update_info('max_iters', 50)


def test_foreach_ema_matches_mmpretrain():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.BatchNorm1d(8))
    ref = CosineEMA(net, momentum=0.05)
    ours = ForeachCosineEMA(net, momentum=0.05)
    for _ in range(6):
        with torch.no_grad():
            for p in net.parameters():
                p.add_(torch.randn_like(p))
        net(torch.randn(5, 4))  # moves BN buffers
        ref.update_parameters(net)
        ours.update_parameters(net)
    for (k, a), b in zip(ref.state_dict().items(), ours.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-6, msg=k)
    # a resumed EMA continues with the right step count
    again = ForeachCosineEMA(net, momentum=0.05)
    again.load_state_dict(ours.state_dict())
    assert again._steps == 6 == int(again.steps)


def test_fast_head_matches_mocov3_head():
    cfg = dict(
        predictor=dict(type='NonLinearNeck', in_channels=8, hid_channels=16,
                       out_channels=8, num_layers=2, with_avg_pool=False),
        loss=dict(type='CrossEntropyLoss', loss_weight=0.4), temperature=0.2)
    torch.manual_seed(0)
    ref = MODELS.build(dict(type='MoCoV3Head', **cfg))
    fast = MODELS.build(dict(type='FastMoCoV3Head', **cfg))
    fast.load_state_dict(ref.state_dict())
    q, k = torch.randn(6, 8), torch.randn(6, 8)
    torch.testing.assert_close(fast.loss(q, k), ref.loss(q, k))


@pytest.mark.parametrize('scale,phase', [(1, 'random'), ([1, 2, 3], 0)])
def test_device_draw_follows_formula(scale, phase):
    gen = SymmetricMaskGenerator(input_size=32, model_patch_size=4,
                                 scale=scale, phase=phase, ema_scale=2)
    torch.manual_seed(0)
    mask, ema = gen.draw(16, 2, torch.device('cpu'))
    assert mask.shape == ema.shape == (16, 2, 8, 8)
    i, j = np.meshgrid(np.arange(8), np.arange(8), indexing='ij')
    boards = {(k, p): torch.from_numpy((i // k + j // k + p) % 2 == 1)
              for k in (1, 2, 3) for p in (0, 1)}
    ks = gen.scales
    ps = (0, 1) if phase == 'random' else (phase, )
    for m in mask.flatten(0, 1):
        assert any(torch.equal(m, boards[(k, p)]) for k in ks for p in ps)
    for m in ema.flatten(0, 1):
        assert any(torch.equal(m, boards[(2, p)]) for p in (0, 1))


def test_model_side_masks_train(fmnist_root):
    cfg = tiny_cfg(mask_generator=dict(
        type='SymmetricMaskGenerator', input_size=32, model_patch_size=4,
        scale=1, ema_scale=2))
    model = build(cfg)
    data = real_batch(cfg)
    for ds in data['data_samples']:
        del ds.mask, ds.ema_mask
    batch = model.data_preprocessor(data, True)
    losses = model(**batch, mode='loss')
    assert all(torch.isfinite(v) for v in losses.values())
    # both sources at once is refused
    with pytest.raises(ValueError, match='both'):
        model(**model.data_preprocessor(real_batch(cfg), True), mode='loss')


def test_bf16_autocast_loss_matches_fp32(fmnist_root):
    """The fast path (bf16 autocast, as AmpOptimWrapper(dtype='bfloat16'))
    gives the fp32 loss within bf16 tolerance on a fixed batch."""
    cfg = tiny_cfg()
    model = build(cfg)
    batch = model.data_preprocessor(real_batch(cfg, n=16), True)
    fp32_model = copy.deepcopy(model)
    ref = fp32_model(**copy.deepcopy(batch), mode='loss')
    with torch.autocast('cpu', dtype=torch.bfloat16):
        fast = model(**copy.deepcopy(batch), mode='loss')
    for key in ('loss_mim', 'loss_con'):
        rel = abs(fast[key].float().item() - ref[key].item()) / ref[key].item()
        assert rel < 1e-2, (key, rel)
        assert math.isfinite(fast[key].float().item())
