"""ViTDet's simple feature pyramid: shapes, its norm, and what LayerNorm
over each pixel's channels throws away (docs/transfer_study.md)."""
import pytest
import torch
from mmengine.config import Config

from mmsymmim.downstream.det import LayerNorm2d, SimpleFeaturePyramid
from ..harness import REPO

NORMS = {
    'ln': dict(type='LN2d'),
    'gn': dict(type='GN', num_groups=8),
    'bn': dict(type='BN'),
    'none': None,
}


@pytest.mark.parametrize('norm', list(NORMS))
@pytest.mark.parametrize('scales,num_outs', [((4.0, 2.0, 1.0, 0.5), 5),
                                             ((1.0, 0.5), 3),
                                             ((2.0, 1.0), 2)])
def test_levels_and_strides(norm, scales, num_outs):
    neck = SimpleFeaturePyramid(32, 16, scales, num_outs,
                                norm_cfg=NORMS[norm]).eval()
    outs = neck((torch.randn(2, 32, 8, 8), ))
    sides = [int(8 * s) for s in scales]
    if num_outs > len(scales):
        sides.append(sides[-1] // 2)
    assert [tuple(o.shape) for o in outs] == [(2, 16, s, s) for s in sides]
    convs = [m for m in neck.modules() if isinstance(m, torch.nn.Conv2d)]
    assert all((c.bias is not None) == (norm == 'none') for c in convs)


def test_layernorm_is_the_default():
    neck = SimpleFeaturePyramid(32, 16, (1.0, ), 1)
    assert sum(isinstance(m, LayerNorm2d) for m in neck.modules()) == 2


def scaled_pixels(x):
    """x with each pixel's feature vector scaled by its own factor > 0."""
    g = torch.Generator().manual_seed(1)
    return x * (0.2 + 3 * torch.rand(x.shape[0], 1, *x.shape[2:],
                                     generator=g))


@pytest.mark.parametrize('norm,blind', [('ln', True), ('gn', False),
                                        ('none', False)])
def test_layernorm_cannot_see_local_magnitude(norm, blind):
    """Per-pixel LN after a bias-free 1x1 conv makes the level blind to how
    strong each pixel's features are: a garment brighter than its noisy
    background gives the same map as a faint one."""
    torch.manual_seed(0)
    neck = SimpleFeaturePyramid(32, 16, (1.0, ), 1,
                                norm_cfg=NORMS[norm]).eval()
    x = torch.randn(2, 32, 8, 8).relu()
    change = (neck((x, ))[0] - neck((scaled_pixels(x), ))[0]).abs().max()
    assert (change < 0.01) if blind else (change > 0.1)  # outputs ~ 1


@pytest.mark.parametrize('config', [
    'configs/symmim/benchmarks/'
    'mask-rcnn_vit-tiny-p4_simple-fpn_1xb8-800i_fmnist-scenes.py',
])
def test_scene_pyramid_sees_local_magnitude(config):
    """The scene config's pyramid keeps what the tiny encoders carry
    (LayerNorm there left the RoI head at chance)."""
    from mmdet.registry import MODELS
    from mmengine.registry import DefaultScope

    import mmsymmim.downstream.det  # noqa: F401
    cfg = Config.fromfile(f'{REPO}/{config}')
    with DefaultScope.overwrite_default_scope('mmdet'):
        neck = MODELS.build(cfg.model.neck).eval()
    torch.manual_seed(0)
    x = torch.randn(2, cfg.model.neck.in_channels, 16, 16).relu()
    change = (neck((x, ))[0] - neck((scaled_pixels(x), ))[0]).abs().max()
    assert change > 0.1
