"""study/flops.py: a step's training FLOPs, the study's unit of budget,
against a hand count of the matrix products; the demo spends the
budget."""
import json
import os.path as osp

import pytest

from study import flops as sf
from study import rows as sr
from ....harness import REPO


def tiny_symmim(B=8, C=32, layers=2, F=64, D=16, H=64, P=16):
    """The default SymMIM row shrunk: batch B, width C, MLP F, decoder
    width D (1 block), projector / predictor hidden H, output P."""
    cfg = sr.row_config('symmim-visible')
    cfg.train_dataloader.update(batch_size=B, num_workers=0,
                                persistent_workers=False)
    cfg.train_dataloader.dataset.indices = 64
    m = cfg.model
    m.backbone.arch = dict(embed_dims=C, num_layers=layers, num_heads=2,
                           feedforward_channels=F)
    m.neck.update(in_channels=C, hid_channels=H, out_channels=P)
    m.head.predictor.update(in_channels=P, hid_channels=H, out_channels=P)
    m.mim_neck.update(embed_dim=C, decoder_embed_dim=D, decoder_num_heads=2)
    return cfg


def hand_count(B=8, C=32, layers=2, F=64, D=16, H=64, P=16, w_con=True):
    """FLOPs (2 per multiply-add) of the matrix products of one SymMIM step
    (visible tokens, 32 px, patch 4: 64 patches, 32 visible on both boards;
    symmetric: 2B images through the online and the EMA encoder)."""
    patch = 2 * 32 * 48 * C  # projection of the 32 visible 4x4x3 patches

    def blocks(T, width, mlp, n):  # qkv + proj + MLP, then QK^T and AV
        return n * (2 * T * (4 * width * width + 2 * width * mlp)
                    + 4 * T * T * width)

    enc = blocks(33, C, F, layers)
    dec = 2 * 33 * C * D + blocks(65, D, 4 * D, 1) + 2 * 65 * D * 48
    proj = 2 * (C * H + H * H + H * P)
    pred = 2 * (P * H + H * P)
    if not w_con:
        return 2 * B * (3 * (enc + dec) + 2 * patch)
    online = enc + dec + proj + pred
    per_image = 3 * online + 2 * patch + (patch + enc + proj)  # + EMA fwd
    logits = 2 * (2 * B * B * P) * 2  # two q.k^T, forward + grad of q
    return 2 * B * per_image + logits


@pytest.mark.parametrize('w_con', [1., 0.])
def test_step_flops_match_a_hand_count(w_con):
    """FlopCounterMode over one real training step counts the matrix
    products a hand count gives (within 5 %); with w_con = 0 the
    contrastive branch and the EMA encoder cost nothing."""
    cfg = tiny_symmim()
    cfg.model.con_loss_weight = w_con
    counted = sf.step_flops(cfg)
    expected = hand_count(w_con=bool(w_con))
    assert counted == pytest.approx(expected, rel=0.05), (counted, expected)


def test_demo_spends_the_studys_budget():
    """The demo's 400 one-order steps cost the study's budget (200 steps of
    symmim-visible), by the FLOPs the study measured per step."""
    res = json.load(open(osp.join(REPO, 'docs/small_scale_study_flops.json')))
    flops = {r['row']: r['flops_per_step'] for r in res['runs']
             if 'flops_per_step' in r}
    assert abs(400 * flops['symmim-asymmetric'] / res['budget_flops'] - 1) \
        < 0.01
    assert res['budget_flops'] == 200 * flops['symmim-visible']
