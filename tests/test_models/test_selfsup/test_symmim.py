"""SymMIM: one training step, loss weights, masks in and out."""
import copy
import math

import pytest
import torch
from mmengine.logging import MessageHub
from mmengine.optim import OptimWrapper

from mmsymmim.models import SymMIM, SymMIMViT
from ...harness import MASK_TOKEN_DEMO, SYMMIM_DEMO, real_batch, tiny_cfg
from ...harness import build_model as build

MAX_ITERS = 100


@pytest.fixture
def hub():
    h = MessageHub.get_current_instance()
    h.update_info('max_iters', MAX_ITERS)
    return h


def online_params(model):
    mods = dict(backbone=model.backbone, neck=model.neck)
    return {f'{m}.{k}': v.detach().clone()
            for m, mod in mods.items() for k, v in mod.named_parameters()}


def ema_params(model):
    return {k: v.detach().clone()
            for k, v in model.momentum_encoder.module.named_parameters()}


DEMOS = pytest.mark.parametrize('demo', [MASK_TOKEN_DEMO, SYMMIM_DEMO],
                                ids=['mask_token', 'visible'])


def board(h, w, k, phase):
    """The checkerboard of the paper, written out: ``(h, w)`` bool."""
    i = torch.arange(h)[:, None] // k
    j = torch.arange(w)[None] // k
    return (i + j + phase) % 2 == 1


def _train_step_cases():
    """Every combination of demo, ``symmetric``, ``ema_masked`` and
    ``norm_target``; the fast tier runs the half in which ``norm_target`` is
    the parity of the other three (every pair of values of any two fields
    still meets), the rest is marked slow."""
    for norm_target in (False, True):
        for ema_masked in (True, False):
            for symmetric in (True, False):
                for demo, name in ((MASK_TOKEN_DEMO, 'mask_token'),
                                   (SYMMIM_DEMO, 'visible')):
                    fast = norm_target == (symmetric ^ ema_masked
                                           ^ (demo == SYMMIM_DEMO))
                    yield pytest.param(
                        demo, symmetric, ema_masked, norm_target,
                        marks=() if fast else pytest.mark.slow,
                        id=f'{norm_target}-{ema_masked}-{symmetric}-{name}')


@pytest.mark.parametrize('demo, symmetric, ema_masked, norm_target',
                         list(_train_step_cases()))
def test_train_step(fmnist_root, hub, demo, symmetric, ema_masked,
                    norm_target):
    cfg = tiny_cfg(demo, symmetric=symmetric, ema_masked=ema_masked,
                   norm_target=norm_target)
    model = build(cfg)
    assert isinstance(model, SymMIM) and isinstance(model.backbone, SymMIMViT)
    optim = OptimWrapper(torch.optim.AdamW(model.parameters(), lr=1e-3))
    data = real_batch(cfg)

    # one step so the EMA leaves its copy-on-first-update branch
    model.train_step(data, optim)
    # make EMA and online differ everywhere, then check the exact update
    with torch.no_grad():
        for p in model.momentum_encoder.module.parameters():
            p.add_(torch.randn_like(p) * 0.01)
    q0, k0 = online_params(model), ema_params(model)
    steps = int(model.momentum_encoder.steps)

    log_vars = model.train_step(data, optim)
    assert set(log_vars) >= {'loss', 'loss_mim', 'loss_con'}
    for key in ('loss_mim', 'loss_con'):
        assert math.isfinite(float(log_vars[key])) and log_vars[key] > 0

    q1, k1 = online_params(model), ema_params(model)
    changed = [k for k in q0 if not torch.equal(q0[k], q1[k])]
    assert ('backbone.mask_token' in changed) == (demo == MASK_TOKEN_DEMO)
    assert 'backbone.layers.0.attn.qkv.weight' in changed
    assert 'neck.mlp.0.weight' in changed or any(
        k.startswith('neck.') for k in changed)

    # CosineEMA: theta_k <- theta_k + (1 - m) (theta_q - theta_k), with
    # 1 - m = mmengine momentum annealed from base_momentum to end_momentum
    base, end = cfg.model.base_momentum, 0.
    mom = end - (end - base) * (math.cos(math.pi * steps / MAX_ITERS) + 1) / 2
    for name, before in k0.items():
        if not before.dtype.is_floating_point:
            continue
        expected = before + mom * (q0[name] - before)
        torch.testing.assert_close(k1[name], expected, rtol=0, atol=1e-6)
    assert mom > 0


def test_loss_weights_scale_terms(fmnist_root, hub):
    cfg = tiny_cfg()
    data = real_batch(cfg)
    losses = {}
    for w in (1.0, 3.0):
        model = build(tiny_cfg(mim_loss_weight=w, con_loss_weight=2 * w))
        model.train()
        batch = model.data_preprocessor(copy.deepcopy(data), True)
        torch.manual_seed(1)
        losses[w] = model(**batch, mode='loss')
    torch.testing.assert_close(losses[3.0]['loss_mim'],
                               3 * losses[1.0]['loss_mim'])
    torch.testing.assert_close(losses[3.0]['loss_con'],
                               3 * losses[1.0]['loss_con'])


def test_extract_feat_ignores_masks(fmnist_root):
    model = build(tiny_cfg())
    model.eval()
    x = torch.randn(3, 3, 32, 32)
    feat = model.extract_feat(x)  # out_type='raw': class + patch tokens
    assert isinstance(feat, tuple) and feat[0].shape == (3, 65, 64)
    full = model.backbone(x, torch.zeros(3, 8, 8, dtype=torch.bool))
    torch.testing.assert_close(full, feat[0])
    masked = model.backbone(x, torch.ones(3, 8, 8, dtype=torch.bool))
    assert not torch.allclose(masked[:, 0], feat[0][:, 0])


def test_missing_masks_raise(fmnist_root, hub):
    cfg = tiny_cfg()
    model = build(cfg)
    data = model.data_preprocessor(real_batch(cfg), True)
    for ds in data['data_samples']:
        del ds.ema_mask
    with pytest.raises(KeyError, match='ema_mask.*ema_scale'):
        model(**data, mode='loss')


def test_one_view_raises(fmnist_root, hub):
    model = build(tiny_cfg())
    with pytest.raises(ValueError, match='two augmented views'):
        model.loss([torch.randn(2, 3, 32, 32)], [])


def test_model_side_masks_train(fmnist_root, hub):
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


def test_bf16_autocast_loss_matches_fp32(fmnist_root, hub):
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


@DEMOS
def test_mim_loss_covers_exactly_the_masked_patches(fmnist_root, demo):
    """L_mim = mean |prediction - pixel| over the pixels of masked patches,
    computed by hand from the model's own prediction."""
    model = build(tiny_cfg(demo))
    model.eval()
    x = torch.randn(2, 3, 32, 32)
    mask = torch.stack([board(8, 8, 1, 0), board(8, 8, 2, 1)])
    _, loss = model.encode_and_reconstruct(x, mask)
    pred = model.reconstruct(x, mask)
    assert pred.shape == x.shape
    pixels = mask.repeat_interleave(4, 1).repeat_interleave(4, 2)
    expected = (pred - x).abs().permute(0, 2, 3, 1)[pixels].mean()
    torch.testing.assert_close(loss, expected)
    # the prediction on visible patches plays no part
    visible = (pred - x).abs().permute(0, 2, 3, 1)[~pixels].mean()
    assert not torch.isclose(visible, expected)
