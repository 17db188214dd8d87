"""FastMoCoV3Head: MoCoV3Head's loss; per-sample weights."""
import torch

from mmpretrain.registry import MODELS

CFG = dict(
    predictor=dict(type='NonLinearNeck', in_channels=8, hid_channels=16,
                   out_channels=8, num_layers=2, with_avg_pool=False),
    loss=dict(type='CrossEntropyLoss', loss_weight=0.4), temperature=0.2)


def test_fast_head_matches_mocov3_head():
    torch.manual_seed(0)
    ref = MODELS.build(dict(type='MoCoV3Head', **CFG))
    fast = MODELS.build(dict(type='FastMoCoV3Head', **CFG))
    fast.load_state_dict(ref.state_dict())
    q, k = torch.randn(6, 8), torch.randn(6, 8)
    torch.testing.assert_close(fast.loss(q, k), ref.loss(q, k))


def test_fast_head_weight_is_per_sample():
    torch.manual_seed(0)
    head = MODELS.build(dict(type='FastMoCoV3Head', **CFG))
    q, k = torch.randn(6, 8), torch.randn(6, 8)
    w = torch.tensor([1., 0., 0., 0., 0., 0.])
    # weight one-hot on sample 0: 1/6 of sample 0's CE
    pred = torch.nn.functional.normalize(head.predictor([q])[0], dim=1)
    logits = pred @ torch.nn.functional.normalize(k, dim=1).T / 0.2
    ce0 = torch.nn.functional.cross_entropy(logits[:1], torch.tensor([0]))
    torch.testing.assert_close(head.loss(q, k, weight=w), 0.4 * ce0 / 6)
    torch.testing.assert_close(head.loss(q, k, weight=torch.ones(6)),
                               head.loss(q, k))
