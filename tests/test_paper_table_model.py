"""The SymMIM table of docs/symmim.md against the model its ViT-B config
builds: the loss as it acts, the view pairing, the patches scored, the EMA
momentum and the augmentation, measured (tests/paper_table.py reads the
table)."""
import copy
import inspect
import math
import os.path as osp

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config

from .paper_table import (
    DOC,
    ROWS,
    VIT_B,
    board,
    config,
    find_type,
)


# --------------------------------------------------------------- the model
def test_vit_b_builds_what_the_table_says():
    """The full default ViT-B model: decoder, head, weights, phases."""
    from mmpretrain.registry import MODELS
    cfg = config(VIT_B)
    model = MODELS.build(cfg.model)
    neck = cfg.model.mim_neck
    assert type(model.mim_neck).__name__ == neck.type
    if neck.type == 'SymMIMDecoder':
        assert len(model.mim_neck.decoder_blocks) == neck.decoder_depth
        assert (model.mim_neck.decoder_embed.out_features ==
                neck.decoder_embed_dim)
        doc = open(DOC).read()
        blocks = 'block' if neck.decoder_depth == 1 else 'blocks'
        assert (f'{neck.decoder_depth} {blocks} of width '
                f'{neck.decoder_embed_dim} in the ViT-B config') in doc
    assert model.encoder_input == cfg.model.encoder_input
    assert model.symmetric == cfg.model.symmetric
    assert model.norm_target == cfg.model.norm_target
    assert model.head.temperature == cfg.model.head.temperature
    assert (model.head.loss_module.loss_weight ==
            cfg.model.head.loss.loss_weight)
    assert model.momentum_encoder.momentum == cfg.model.base_momentum


def test_class_default_is_the_configs_view_order():
    """A model built in a user's own config without ``symmetric`` gets the
    order the configs use, and the row says the class default is that."""
    from mmsymmim.models import SymMIM
    default = inspect.signature(SymMIM).parameters['symmetric'].default
    assert default is config(VIT_B).model.symmetric is False
    assert 'also the class default of `SymMIM`' in ROWS['symmetric loss'][1]


def tiny_vit_b(**overrides):
    """The ViT-B config (224 px, patch 16, its heads and weights) with a
    narrow 2-layer backbone, and masks drawn by its own pipeline generator."""
    from mmpretrain.registry import MODELS
    cfg = config(VIT_B)
    width = 64
    cfg.model.backbone.arch = dict(embed_dims=width, num_layers=2,
                                   num_heads=2, feedforward_channels=128)
    cfg.model.neck.in_channels = width
    key = ('embed_dim' if cfg.model.mim_neck.type == 'SymMIMDecoder' else
           'in_channels')
    cfg.model.mim_neck[key] = width
    cfg.model.mask_generator = copy.deepcopy(
        find_type(cfg.train_dataloader, 'SymmetricMaskGenerator'))
    cfg.model.update(overrides)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    model.train()
    return cfg, model


@pytest.fixture
def hub():
    from mmengine.logging import MessageHub
    h = MessageHub.get_current_instance()
    h.update_info('max_iters', 100)
    return h


def test_loss_as_it_acts_and_pairing(hub):
    """One step of the default model: which views pair, what weights the
    terms carry; the "loss weights" row writes out that formula."""
    from mmpretrain.structures import DataSample
    cfg, model = tiny_vit_b()
    calls = dict(ce=[], keys=[], mim=[], draw=[])

    loss_module = model.head.loss_module
    real_ce = loss_module.forward

    def ce(logits, labels, *args, **kwargs):
        out = real_ce(logits, labels, *args, **kwargs)
        calls['ce'].append((out, F.cross_entropy(logits, labels)))
        return out

    loss_module.forward = ce
    real_keys = model.momentum_keys

    def keys(views, masks):
        calls['keys'].append(views)
        return real_keys(views, masks)

    model.momentum_keys = keys
    real_mim = model.mim_head.loss

    def mim(pred, target, mask):
        out = real_mim(pred, target, mask)
        calls['mim'].append((out, mask))
        return out

    model.mim_head.loss = mim
    real_draw = model.mask_generator.draw

    def draw(*args, **kwargs):
        out = real_draw(*args, **kwargs)
        calls['draw'].append(out)
        return out

    model.mask_generator.draw = draw

    torch.manual_seed(0)
    x = [torch.randn(4, 3, 224, 224), torch.randn(4, 3, 224, 224)]
    losses = model.loss(x, [DataSample() for _ in range(4)])

    # pairing: the query of view v meets the key of the other view
    (views, ) = calls['keys']
    expect = [x[1], x[0]] if model.symmetric else [x[1]]
    assert len(views) == len(expect)
    assert all(v is e for v, e in zip(views, expect))

    # the contrastive weight as it acts on each InfoNCE term
    assert len(calls['ce']) == (2 if model.symmetric else 1)
    ratios = {round(float(out / plain), 6)
              for out, plain in ((o.detach(), p) for o, p in calls['ce'])}
    assert ratios == {cfg.model.head.loss.loss_weight}
    effective = round(model.con_loss_weight * ratios.pop(), 6)
    torch.testing.assert_close(
        losses['loss_con'],
        model.con_loss_weight * sum(out for out, _ in calls['ce']))

    # the MIM term: its weight, and scored on the online masks
    ((mim_out, mim_mask), ) = calls['mim']
    torch.testing.assert_close(losses['loss_mim'],
                               model.mim_loss_weight * mim_out)
    ((online, _), ) = calls['draw']
    views_used = [0, 1] if model.symmetric else [0]
    expect_mask = torch.cat([online[:, v] for v in views_used]).flatten(1)
    assert torch.equal(mim_mask.reshape(expect_mask.shape).bool(),
                       expect_mask)

    terms = ('(InfoNCE(q1, k2) + InfoNCE(q2, k1))' if model.symmetric else
             'InfoNCE(q1, k2)')
    formula = f'L = {model.mim_loss_weight:g} L_mim + {effective:g} {terms}'
    assert f'`{formula}`' in ROWS['loss weights as they act'][1]
    doc = open(DOC).read()
    assert (f'w_con x {cfg.model.head.loss.loss_weight:g}') in doc
    if model.symmetric:
        assert ('L_con = InfoNCE(q1, k2) + InfoNCE(q2, k1)'
                in ROWS['symmetric loss'][1])
        assert 'of the other view' in ROWS['contrastive pairing'][1]


def test_patches_scored_masked_only():
    """The config's pixel head (MAE's or SimMIM's) ignores what is predicted
    for visible patches and scores the masked ones."""
    from mmpretrain.registry import MODELS
    cfg = config(VIT_B)
    head = MODELS.build(cfg.model.mim_head)
    p, g = cfg.model.mim_head.patch_size, 14
    torch.manual_seed(0)
    target = torch.randn(2, 3, g * p, g * p)
    grid_mask = board(g, g, 1, 0).expand(2, -1, -1)
    if type(head).__name__ == 'MAEPretrainHead':  # (N, L, p*p*3) per patch
        pred = torch.randn(2, g * g, p * p * 3)
        mask = grid_mask.flatten(1).float()
        hidden_at = mask.bool()
    else:  # SimMIMHead: (N, 3, H, W) image, (N, h, w) mask
        pred = torch.randn(2, 3, g * p, g * p)
        mask = grid_mask
        hidden_at = mask.repeat_interleave(p, 1).repeat_interleave(
            p, 2).unsqueeze(1).expand_as(pred)
    base = head.loss(pred, target, mask)
    visible, hidden = pred.clone(), pred.clone()
    visible[~hidden_at] += 5
    hidden[hidden_at] += 5
    torch.testing.assert_close(head.loss(visible, target, mask), base)
    assert not torch.allclose(head.loss(hidden, target, mask), base)
    assert 'masked patches only' in ROWS['patches scored'][1]


def test_ema_momentum_row(hub):
    """m = 1 - mmengine's momentum: base at the first step, end at the last,
    cosine between."""
    cfg, model = tiny_vit_b()
    ema = model.momentum_encoder
    base, end = ema.momentum, ema.end_momentum
    assert base == cfg.model.base_momentum
    assert math.isclose(ema.momentum_at(0), base)
    assert math.isclose(ema.momentum_at(100), end, abs_tol=1e-12)
    assert math.isclose(ema.momentum_at(50), (base + end) / 2)
    assert set(ema.module.keys()) == {'backbone', 'neck'}
    cell = ROWS['EMA momentum'][1]
    assert f'm = {1 - base:g} at the first step' in cell, cell
    assert f'm = {1 - end:g} at the last on a cosine' in cell, cell
    assert 'backbone and projector' in cell


def test_augmentation_is_mocov3s_two_views():
    import mmpretrain
    cfg = config(VIT_B)
    mocov3 = Config.fromfile(
        osp.join(osp.dirname(mmpretrain.__file__), '.mim', 'configs',
                 'mocov3',
                 'mocov3_vit-base-p16_16xb256-amp-coslr-300e_in1k.py'))
    multiview = find_type(cfg.train_dataloader, 'MultiView')

    def plain(node):  # without the scope tags mmengine adds when it merges
        if isinstance(node, dict):
            return {k: plain(v) for k, v in node.items() if k != '_scope_'}
        if isinstance(node, (list, tuple)):
            return [plain(v) for v in node]
        return node

    assert plain(multiview.transforms) == plain(
        [mocov3.view_pipeline1, mocov3.view_pipeline2])
    probs = {t.type: t.get('prob') for t in mocov3.view_pipeline2}
    assert probs['GaussianBlur'] == 0.1 and probs['Solarize'] == 0.2
    assert "MoCo v3's two asymmetric views" in ROWS['augmentation'][1]
