import pytest
import torch
from torch import nn

from mmsymmim.models.utils import SplitBatchNorm


def group_bn(x, S, weight, bias, eps):
    """Each group ``n % S`` normalised with its own batch statistics."""
    y = torch.empty_like(x)
    for s in range(S):
        g = x[s::S]
        mean = g.mean((0, 2, 3), keepdim=True)
        var = g.var((0, 2, 3), unbiased=False, keepdim=True)
        y[s::S] = (g - mean) / (var + eps).sqrt() * weight.view(1, -1, 1, 1) \
            + bias.view(1, -1, 1, 1)
    return y


@pytest.mark.parametrize('S', [2, 4])
def test_training_uses_each_groups_statistics(S):
    torch.manual_seed(0)
    bn = SplitBatchNorm(3, num_splits=S)
    nn.init.uniform_(bn.weight)
    nn.init.uniform_(bn.bias)
    x = torch.randn(8, 3, 5, 5) * 3 + torch.arange(8.).view(8, 1, 1, 1)
    y = bn.train()(x)
    torch.testing.assert_close(y, group_bn(x, S, bn.weight, bn.bias, bn.eps))
    assert not torch.allclose(y, nn.functional.batch_norm(
        x, None, None, bn.weight, bn.bias, True, 0., bn.eps), atol=1e-3)
    # running statistics: 0.9 * init + 0.1 * mean of the groups' (unbiased)
    means = torch.stack([x[s::S].mean((0, 2, 3)) for s in range(S)])
    vars_ = torch.stack([x[s::S].var((0, 2, 3)) for s in range(S)])
    torch.testing.assert_close(bn.running_mean, 0.1 * means.mean(0))
    torch.testing.assert_close(bn.running_var, 0.9 + 0.1 * vars_.mean(0))
    assert bn.num_batches_tracked.item() == 1


def test_eval_and_one_split_are_plain_batchnorm():
    torch.manual_seed(0)
    x = torch.randn(8, 3, 4, 4)
    ref = nn.BatchNorm2d(3)
    for S in (1, 4):
        bn = SplitBatchNorm(3, num_splits=S)
        bn.load_state_dict(ref.state_dict())
        torch.testing.assert_close(bn.eval()(x), ref.eval()(x))
    one = SplitBatchNorm(3, num_splits=1)
    torch.testing.assert_close(one.train()(x), nn.BatchNorm2d(3).train()(x))
    assert set(one.state_dict()) == set(ref.state_dict())


@pytest.mark.parametrize('bad', [0, -2, 2.0, True, '8'])
def test_bad_num_splits_is_named(bad):
    with pytest.raises(ValueError, match='num_splits'):
        SplitBatchNorm(3, num_splits=bad)


def test_batch_not_divisible_is_named():
    with pytest.raises(ValueError, match='num_splits`=4'):
        SplitBatchNorm(3, num_splits=4).train()(torch.randn(6, 3, 2, 2))


def test_resnet_with_split_bn_keeps_batchnorm_keys():
    """Built through mmpretrain's norm_cfg; a checkpoint loads into the same
    ResNet with plain BN (what the evaluation builds)."""
    from mmengine.registry import init_default_scope

    from mmpretrain.registry import MODELS
    init_default_scope('mmpretrain')
    cfg = dict(type='ResNet_CIFAR', depth=18, stem_channels=16,
               base_channels=16)
    split = MODELS.build(dict(cfg, norm_cfg=dict(type='SplitBatchNorm',
                                                 num_splits=4)))
    plain = MODELS.build(dict(cfg, norm_cfg=dict(type='BN')))
    assert isinstance(split.bn1, SplitBatchNorm)
    plain.load_state_dict(split.state_dict(), strict=True)
    x = torch.randn(8, 3, 32, 32)
    split.train()  # mmpretrain's ResNet.train returns None
    split(x)  # moves the running statistics
    plain.load_state_dict(split.state_dict())
    split.eval()
    plain.eval()
    torch.testing.assert_close(split(x)[-1], plain(x)[-1])
