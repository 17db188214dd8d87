"""DeviceViewAugment: per-image randomness, seeds, the recipe's
probabilities, each op against mmpretrain's CPU transform, errors."""
import math
from unittest import mock

import numpy as np
import pytest
import torch

from mmpretrain.registry import BATCH_AUGMENTS, TRANSFORMS
from mmsymmim.models.utils import DeviceViewAugment

JITTER = dict(type='ColorJitter', brightness=0.4, contrast=0.4,
              saturation=0.2, hue=0.1)
GREY = dict(type='RandomGrayscale', prob=0.2, keep_channels=True,
            channel_weights=(0.114, 0.587, 0.2989))


def mocov3_view(blur_prob, solarize_prob):
    """mmpretrain's MoCo v3 view recipe less its crop."""
    return [
        dict(type='RandomApply', transforms=[JITTER], prob=0.8), GREY,
        dict(type='GaussianBlur', magnitude_range=(0.1, 2.0),
             magnitude_std='inf', prob=blur_prob),
        dict(type='Solarize', thr=128, prob=solarize_prob),
        dict(type='RandomFlip', prob=0.5)
    ]


MOCOV3 = [mocov3_view(1.0, 0.0), mocov3_view(0.1, 0.2)]


def smooth_rgb(n=4, size=48, seed=0):
    """``(n, 3, size, size)`` uint8 RGB with image-like structure: upsampled
    colour noise plus a little grain."""
    g = torch.Generator().manual_seed(seed)
    coarse = torch.rand(n, 3, size // 6, size // 6, generator=g) * 255
    img = torch.nn.functional.interpolate(coarse, size=(size, size),
                                          mode='bicubic', align_corners=False)
    img = img + torch.randn(img.shape, generator=g) * 6
    return img.clamp(0, 255).round().to(torch.uint8)


def test_registered_and_builds_the_recipe():
    aug = BATCH_AUGMENTS.build(dict(type='DeviceViewAugment', views=MOCOV3))
    names = [[type(m).__name__ for m in v] for v in aug.views]
    # solarize with p = 0 is dropped from view 1, kept (p = 0.2) in view 2
    assert names[0] == ['PerSampleColorJitter', 'RandomGrayscale',
                        'RandomGaussianBlur', 'RandomHorizontalFlip']
    assert names[1] == ['PerSampleColorJitter', 'RandomGrayscale',
                        'RandomGaussianBlur', 'RandomSolarize',
                        'RandomHorizontalFlip']
    assert [v[0].p for v in aug.views] == [0.8, 0.8]
    assert [v[2].p for v in aug.views] == [1.0, 0.1]


@pytest.mark.parametrize('view', [0, 1])
def test_copies_of_one_image_come_out_different(view):
    aug = DeviceViewAugment(MOCOV3)
    x = smooth_rgb(1).float().repeat(8, 1, 1, 1)
    torch.manual_seed(0)
    out = aug([x, x])[view]
    diffs = [(out[i] - out[0]).abs().mean().item() for i in range(1, 8)]
    assert min(diffs) > 0.5, diffs  # every copy drew its own parameters


@pytest.mark.parametrize('seed', [0, 1])
def test_a_seed_gives_the_same_batch(seed):
    aug = DeviceViewAugment(MOCOV3)
    x = smooth_rgb(6).float()
    torch.manual_seed(seed)
    a = aug([x, x])
    torch.manual_seed(seed)
    b = aug([x, x])
    torch.manual_seed(seed + 10)
    c = aug([x, x])
    assert all(torch.equal(u, v) for u, v in zip(a, b))
    assert not torch.equal(a[0], c[0])


def test_parameters_stay_drawn_on_the_cpu_after_a_move():
    """model.cuda() / .to() move the augment and kornia would follow with
    its parameter draws; they stay CPU float32 (no GPU here: a dtype move
    takes the same path)."""
    aug = DeviceViewAugment(MOCOV3).to(torch.float64)
    kornia_ops = [m for v in aug.views for m in v]
    assert kornia_ops and all(
        m.device == torch.device('cpu') and m.dtype == torch.float32
        for m in kornia_ops)
    x = smooth_rgb(2).float()
    assert aug([x, x])[0].dtype == torch.float32


def test_shapes_scale_and_no_autocast():
    aug = DeviceViewAugment(MOCOV3)
    x = smooth_rgb(4).float()
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out = aug([x, x])
    for y in out:
        assert y.shape == x.shape and y.dtype == torch.float32
        assert 0 <= y.min() and y.max() <= 255.0 + 1e-3


@pytest.mark.parametrize('view', [0, 1])
def test_probabilities_hold_per_view(view):
    """Over 4000 tiny images, the fraction of views that were jittered,
    made grey, blurred, solarised and flipped is within 3 standard errors
    of the recipe's probability for that view index."""
    n = 4000
    aug = DeviceViewAugment(MOCOV3)
    torch.manual_seed(view)
    x = smooth_rgb(n, size=8, seed=1).float()
    out = aug([x, x])[view]
    ops = {type(m).__name__: m for m in aug.views[view]}
    fired = {k: m._params['batch_prob'].float().mean().item()
             for k, m in ops.items()}
    # grey is checked on the pixels: all three channels equal
    fired['grey_pixels'] = (out.amax(1) - out.amin(1)).flatten(1).amax(1).lt(
        1e-3).float().mean().item()
    expect = {'PerSampleColorJitter': 0.8, 'RandomGrayscale': 0.2,
              'grey_pixels': 0.2, 'RandomGaussianBlur': [1.0, 0.1][view],
              'RandomHorizontalFlip': 0.5}
    if view == 1:
        expect['RandomSolarize'] = 0.2
    else:
        assert 'RandomSolarize' not in ops  # p = 0: not built
    for k, p in expect.items():
        se = math.sqrt(p * (1 - p) / n)
        assert abs(fired[k] - p) <= max(3 * se, 1e-9), (k, fired[k], p)


def _cpu(cfg, img_rgb_hwc, rand_params=None):
    """mmpretrain's CPU transform on an RGB image (the pipeline works in
    BGR, so flip the channels in and out)."""
    t = TRANSFORMS.build(cfg)
    bgr = np.ascontiguousarray(img_rgb_hwc[..., ::-1])
    if rand_params is not None:
        with mock.patch.object(t, '_rand_params', return_value=rand_params):
            out = t(dict(img=bgr))['img']
    else:
        out = t(dict(img=bgr))['img']
    return out[..., ::-1].astype(np.float32)


def _device(op_cfg, x, params=None):
    aug = DeviceViewAugment([[op_cfg]])
    return aug.views[0][0](x.float() / 255, params=params) * 255 \
        if params is not None else aug([x.float()])[0]


# (mmpretrain config, device config, bound on the mean |diff| in grey levels)
JITTER_CASES = {
    'brightness': ((0, 1.3, None, None, None), 0.6),
    'contrast': ((1, None, 0.7, None, None), 0.6),
    'saturation': ((2, None, None, 1.2, None), 0.6),
    'hue': ((3, None, None, None, 0.08), 1.5),
    'all four, one order': (('order', 1.3, 0.7, 1.2, -0.06), 1.5),
}


@pytest.mark.parametrize('case', list(JITTER_CASES))
def test_color_jitter_matches_mmpretrain(case):
    (idx, b, c, s, h), bound = JITTER_CASES[case]
    order = [2, 0, 3, 1] if idx == 'order' else [idx]
    x = smooth_rgb(3)
    n = x.shape[0]
    dev_cfg = dict(type='ColorJitter', brightness=0.4, contrast=0.4,
                   saturation=0.4, hue=0.1)
    factors = dict(
        brightness_factor=torch.full((n, ), b or 1.0),
        contrast_factor=torch.full((n, ), c or 1.0),
        saturation_factor=torch.full((n, ), s or 1.0),
        hue_factor=torch.full((n, ), h or 0.0),
        order=torch.tensor([0, 1, 2, 3]),
        sample_order=torch.tensor(order + [i for i in range(4)
                                           if i not in order]).repeat(n, 1),
        batch_prob=torch.ones(n, dtype=torch.bool))
    dev = _device(dev_cfg, x, factors)
    for i in range(n):
        img = x[i].permute(1, 2, 0).numpy()
        cpu = _cpu(dict(type='ColorJitter', brightness=0.4, contrast=0.4,
                        saturation=0.4, hue=0.1), img,
                   rand_params=(np.array(order), b, c, s, h))
        d = np.abs(dev[i].permute(1, 2, 0).numpy() - cpu).mean()
        assert d < bound, (case, i, d)


@pytest.mark.parametrize('op', ['grey', 'grey-unnormalised', 'blur0.5',
                                'blur1', 'blur2', 'solarize', 'flip'])
def test_op_matches_mmpretrain(op):
    """Each op at fixed parameters against mmpretrain's CPU transform on
    [0, 255] images: mean |diff| under a stated bound (grey levels)."""
    if op.startswith('blur'):
        sigma = float(op[4:])
        cpu_cfg = dict(type='GaussianBlur', radius=sigma, prob=1.0)
        # PIL's blur is three box blurs, not a sampled Gaussian
        bound = 1.0
    else:
        cpu_cfg = {
            'grey': dict(GREY, prob=1.0),
            'grey-unnormalised': dict(GREY, prob=1.0,
                                      channel_weights=(1., 2., 3.)),
            'solarize': dict(type='Solarize', thr=128, prob=1.0),
            'flip': dict(type='RandomFlip', prob=1.0,
                         direction='horizontal'),
        }[op]
        bound = {'grey': 0.6, 'grey-unnormalised': 0.6, 'solarize': 1e-4,
                 'flip': 1e-4}[op]
    x = smooth_rgb(3)
    dev = _device(cpu_cfg, x)
    for i in range(x.shape[0]):
        cpu = _cpu(cpu_cfg, x[i].permute(1, 2, 0).numpy())
        d = np.abs(dev[i].permute(1, 2, 0).numpy() - cpu).mean()
        assert d <= bound, (op, i, d)


@pytest.mark.parametrize('views,kwargs,match', [
    ([[dict(type='RandomResizedCrop', scale=224)]], {}, 'worker'),
    ([[dict(type='Rotate', angle=10)]], {}, 'allowed'),
    ([[dict(type='Solarize', thr=128, prob=1.5)]], {}, r'prob must be'),
    ([[dict(type='Solarize', thr=128, level=3)]], {}, 'unsupported keys'),
    ([[dict(type='RandomFlip', direction='vertical')]], {}, 'horizontal'),
    ([[dict(GREY, keep_channels=False)]], {}, 'keep_channels'),
    ([[dict(GREY, channel_weights=(1, 1))]], {}, 'channel_weights'),
    ([[]], dict(blur_kernel_size=12), 'odd'),
    ([[]], dict(blur_border='wrap'), 'blur_border'),
    ([], {}, 'non-empty'),
])
def test_bad_config_names_the_field(views, kwargs, match):
    with pytest.raises(ValueError, match=match):
        DeviceViewAugment(views, **kwargs)


def test_view_count_and_shape_checked():
    aug = DeviceViewAugment(MOCOV3)
    x = smooth_rgb(2).float()
    with pytest.raises(ValueError, match='got 1 views, the recipe has 2'):
        aug([x])
    with pytest.raises(ValueError, match=r'\(B, 3, H, W\)'):
        aug([x[:, :1], x[:, :1]])
