import copy

import pytest
import torch
import torch.nn.functional as F
from mmengine.logging import MessageHub
from mmengine.optim import OptimWrapper

from mmpretrain.registry import MODELS
from mmsymmim.models import MixMaskMoCo, mixmask_loss

BACKBONE = dict(
    type='ResNet_CIFAR', depth=18, base_channels=8, stem_channels=8,
    num_stages=4, out_indices=(3, ), norm_cfg=dict(type='BN'))
FEAT = 64  # 8 * 8 channels at the last stage


def moco_cfg(**mixmask):
    return dict(
        type='MixMaskMoCo',
        queue_len=32,
        feat_dim=16,
        momentum=0.001,
        mixmask=dict(grid_size=8, **mixmask),
        data_preprocessor=dict(
            type='SelfSupDataPreprocessor', mean=[0, 0, 0], std=[1, 1, 1]),
        backbone=BACKBONE,
        neck=dict(type='MoCoV2Neck', in_channels=FEAT, hid_channels=32,
                  out_channels=16, with_avg_pool=True),
        head=dict(type='WeightedContrastiveHead',
                  loss=dict(type='CrossEntropyLoss'), temperature=0.2))


def latent_cfg(kind):
    pred = dict(type='NonLinearNeck', in_channels=16, hid_channels=32,
                out_channels=16, with_avg_pool=False)
    head = dict(type='WeightedLatentPredictHead',
                loss=dict(type='CosineSimilarityLoss'), predictor=pred)
    neck = dict(type='NonLinearNeck', in_channels=FEAT, hid_channels=32,
                out_channels=16, with_avg_pool=True)
    cfg = dict(type=kind, backbone=BACKBONE, neck=neck, head=head,
               data_preprocessor=dict(type='SelfSupDataPreprocessor',
                                      mean=[0, 0, 0], std=[1, 1, 1]))
    if kind == 'MixMaskBYOL':
        cfg['base_momentum'] = 0.01
    if kind == 'MixMaskMoCoV3':
        cfg['head'] = dict(type='FastMoCoV3Head', predictor=pred,
                           loss=dict(type='CrossEntropyLoss', loss_weight=0.4),
                           temperature=0.2)
    return cfg


def asymmetric_loss(model, q, q_mix, k, lam, partner):
    return dict(loss_moco=model.pair_loss(q, k, None),
                loss_mix=model.mix_loss(q_mix, k, lam, partner))


def ce(q, k, queue, t):
    """Per-sample InfoNCE, written out."""
    logits = torch.cat([(q * k).sum(1, keepdim=True), q @ queue], 1) / t
    return -F.log_softmax(logits, dim=1)[:, 0]


def test_loss_matches_hand_computation():
    torch.manual_seed(0)
    model = MODELS.build(moco_cfg())
    B = 4
    q = F.normalize(torch.randn(B, 16), dim=1)
    q_mix = F.normalize(torch.randn(B, 16), dim=1)
    k = F.normalize(torch.randn(B, 16), dim=1)
    lam = torch.tensor([0.25, 0.5, 0.75, 0.625])
    partner = torch.tensor([2, 0, 3, 1])  # inverse: [1, 3, 0, 2]
    out = asymmetric_loss(model, q, q_mix, k, lam, partner)
    Q, T = model.queue, model.head.temperature
    expected_moco = ce(q, k, Q, T).mean()
    # for key j: lambda_j CE(q_mix[j], k_j)
    #          + (1 - lambda_i) CE(q_mix[i], k_j) with partner[i] == j
    inv = [1, 3, 0, 2]
    expected_mix = sum(
        lam[j] * ce(q_mix[j:j + 1], k[j:j + 1], Q, T)[0] +
        (1 - lam[inv[j]]) * ce(q_mix[inv[j]:inv[j] + 1], k[j:j + 1], Q, T)[0]
        for j in range(B)) / B
    torch.testing.assert_close(out['loss_moco'], expected_moco)
    torch.testing.assert_close(out['loss_mix'], expected_mix)


def test_lambda_one_is_moco_plus_mixed_ce():
    torch.manual_seed(1)
    model = MODELS.build(moco_cfg())
    q, q_mix, k = (F.normalize(torch.randn(6, 16), dim=1) for _ in range(3))
    partner = torch.arange(5, -1, -1)
    out = asymmetric_loss(model, q, q_mix, k, torch.ones(6), partner)
    # MoCo v2's own loss through mmpretrain's head
    l_pos = (q * k).sum(1, keepdim=True)
    l_neg = q @ model.queue
    torch.testing.assert_close(out['loss_moco'], model.head.loss(l_pos, l_neg))
    torch.testing.assert_close(out['loss_mix'],
                               ce(q_mix, k, model.queue, 0.2).mean())


@pytest.mark.parametrize('kind', ['MixMaskMoCo', 'MixMaskBYOL',
                                  'MixMaskSimSiam', 'MixMaskMoCoV3'])
def test_train_step(kind):
    MessageHub.get_current_instance().update_info('max_iters', 10)
    torch.manual_seed(0)
    cfg = moco_cfg() if kind == 'MixMaskMoCo' else latent_cfg(kind)
    model = MODELS.build(cfg)
    model.init_weights()
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1))
    x = torch.rand(8, 3, 32, 32) * 255
    data = dict(inputs=[x, x.flip(-1)], data_samples=[None] * 8)
    before = copy.deepcopy(model.backbone.state_dict())
    log = model.train_step(data, optim)
    assert 'loss_mix' in log and torch.isfinite(log['loss_mix'])
    assert any(not torch.equal(before[k], v)
               for k, v in model.backbone.state_dict().items())


def test_bad_mixmask_config():
    with pytest.raises(ValueError, match='mask_ratio'):
        MODELS.build(moco_cfg(mask_ratio=1.5))
    assert isinstance(MODELS.build(moco_cfg()), MixMaskMoCo)


@pytest.mark.parametrize('kind,scale', [('MixMaskBYOL', 2.),
                                        ('MixMaskSimSiam', 0.5),
                                        ('MixMaskMoCoV3', 1.)])
def test_mixed_pair_weighs_one_framework_pair(kind, scale):
    """loss_mix = pair_scale * mix_loss_weight * L_mix, with L_mix from the
    head's per-sample weighted loss and pair_scale the framework's own."""
    torch.manual_seed(0)
    model = MODELS.build(dict(latent_cfg(kind), mix_loss_weight=3.))
    assert model.pair_scale == scale
    q_mix, t = torch.randn(4, 16), torch.randn(4, 16)
    lam = torch.tensor([0.25, 0.5, 0.75, 0.625])
    partner = torch.tensor([2, 0, 3, 1])

    def by_hand(q, k, w):  # mean_i w_i D_i, one sample at a time
        return sum(w[i] * model.head.loss(q[i:i + 1], k[i:i + 1])
                   for i in range(len(w))) / len(w)

    if kind == 'MixMaskMoCoV3':  # InfoNCE couples samples: check via weights
        by_hand = model.pair_loss
    model.eval()  # predictor BN in eval: per-sample == batched
    expected = scale * 3. * mixmask_loss(by_hand, q_mix, t, lam, partner)
    torch.testing.assert_close(
        model.mix_loss(q_mix, t, lam, partner), expected)


def test_head_without_weights_is_refused():
    cfg = latent_cfg('MixMaskBYOL')
    cfg['head']['type'] = 'LatentPredictHead'
    with pytest.raises(ValueError, match='MixMaskBYOL.*weight.*'
                       'WeightedLatentPredictHead'):
        MODELS.build(cfg)


def test_extract_feat_pools_the_last_stage():
    """FeatureExtractor / k-NN read one vector per image: the map pooled."""
    model = MODELS.build(moco_cfg()).eval()
    x = torch.randn(3, 3, 32, 32)
    feat = model.extract_feat(x)
    assert isinstance(feat, tuple) and feat[0].shape == (3, FEAT)
    torch.testing.assert_close(feat[0], model.backbone(x)[-1].mean((2, 3)))
