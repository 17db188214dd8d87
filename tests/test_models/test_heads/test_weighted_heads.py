"""Weighted heads: the parent's loss without weights, mean w_i D_i with."""
import pytest
import torch
import torch.nn.functional as F

from mmpretrain.registry import MODELS

PRED = dict(type='NonLinearNeck', in_channels=8, hid_channels=16,
            out_channels=8, num_layers=2, with_avg_pool=False)


@pytest.mark.parametrize('scale,shift', [(1., 0.), (2., 2.)])
def test_latent_predict_head(scale, shift):
    cfg = dict(loss=dict(type='CosineSimilarityLoss', scale_factor=scale,
                         shift_factor=shift), predictor=PRED)
    torch.manual_seed(0)
    ref = MODELS.build(dict(type='LatentPredictHead', **cfg))
    ours = MODELS.build(dict(type='WeightedLatentPredictHead', **cfg))
    ours.load_state_dict(ref.state_dict())
    ours.eval(), ref.eval()
    x, t = torch.randn(5, 8), torch.randn(5, 8)
    torch.testing.assert_close(ours.loss(x, t), ref.loss(x, t))
    w = torch.tensor([0., 1., 0.5, 0., 2.])
    per = [ref.loss(x[i:i + 1], t[i:i + 1]) for i in range(5)]
    torch.testing.assert_close(ours.loss(x, t, weight=w),
                               sum(wi * d for wi, d in zip(w, per)) / 5)


def test_contrastive_head():
    cfg = dict(loss=dict(type='CrossEntropyLoss'), temperature=0.2)
    ref = MODELS.build(dict(type='ContrastiveHead', **cfg))
    ours = MODELS.build(dict(type='WeightedContrastiveHead', **cfg))
    torch.manual_seed(0)
    pos, neg = torch.randn(4, 1), torch.randn(4, 7)
    torch.testing.assert_close(ours.loss(pos, neg), ref.loss(pos, neg))
    w = torch.tensor([1., 0., 3., 0.5])
    ce = -F.log_softmax(torch.cat([pos, neg], 1) / 0.2, 1)[:, 0]
    torch.testing.assert_close(ours.loss(pos, neg, weight=w), (w * ce).mean())
