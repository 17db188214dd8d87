"""MixMask batch augment: the mix formula, lambdas, partners, errors."""
import pytest
import torch

from mmpretrain.registry import BATCH_AUGMENTS
from mmsymmim.models.utils import MixMask


def images(b=6, h=32, w=32, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(b, 3, h, w, generator=g)


@pytest.mark.parametrize('mask_type', ['block', 'discrete'])
@pytest.mark.parametrize('partner', ['reverse', 'random'])
@pytest.mark.parametrize('per_sample', [True, False])
def test_mix_equals_formula_pixel_for_pixel(mask_type, partner, per_sample):
    """x_mix = M * x + (1 - M) * x[partner] with M and partner drawn apart
    (same RNG state, same order as in __call__), M upsampled by hand."""
    mm = MixMask(grid_size=8, mask_ratio=0.5, mask_type=mask_type,
                 partner=partner, per_sample=per_sample)
    x = images()
    torch.manual_seed(0)
    grid = mm.grid_mask(6)
    p = mm.partner_index(6)
    torch.manual_seed(0)
    x_mix, lam, p_out = mm(x)
    assert torch.equal(p_out, p)
    M = torch.zeros(6, 1, 32, 32)
    for b in range(6):  # written out: cell (r, c) covers pixels 4r.., 4c..
        for r in range(8):
            for c in range(8):
                M[b, 0, 4 * r:4 * r + 4, 4 * c:4 * c + 4] = grid[b, r, c]
    expected = M * x + (1 - M) * x[p]
    torch.testing.assert_close(x_mix, expected, rtol=0, atol=0)
    torch.testing.assert_close(lam, M.flatten(1).mean(1))
    assert 0 < lam.min() and lam.max() < 1  # both images present
    if not per_sample:
        assert torch.all(lam == lam[0])


def test_discrete_is_exact_and_block_at_most_ratio():
    torch.manual_seed(0)
    x = images(b=64)
    _, lam, _ = MixMask(mask_type='discrete', mask_ratio=0.5)(x)
    assert torch.all(lam == 0.5)
    _, lam, _ = MixMask(mask_type='block', mask_ratio=0.5)(x)
    assert torch.all(lam >= 0.5) and lam.mean() < 0.65
    assert lam.unique().numel() > 1  # per-sample lambdas differ


def test_partners():
    mm = MixMask(partner='reverse')
    assert mm.partner_index(5).tolist() == [4, 3, 2, 1, 0]
    torch.manual_seed(0)
    p = MixMask(partner='random').partner_index(16)
    assert sorted(p.tolist()) == list(range(16))  # a permutation
    assert torch.all(p != torch.arange(16))  # nobody fills itself


@pytest.mark.parametrize('kwargs,match', [
    (dict(mask_ratio=0.), 'mask_ratio.*\\(0, 1\\)'),
    (dict(mask_ratio=1.), 'mask_ratio'),
    (dict(mask_type='grid'), "mask_type.*'block', 'discrete'"),
    (dict(partner='next'), 'partner'),
    (dict(grid_size=1), 'grid_size'),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        MixMask(**kwargs)


def test_grid_must_divide_image():
    with pytest.raises(ValueError, match='30x30.*grid_size.*8'):
        MixMask(grid_size=8)(images(h=30, w=30))


def test_registered():
    mm = BATCH_AUGMENTS.build(dict(type='MixMask', grid_size=4))
    assert isinstance(mm, MixMask) and mm.grid_size == 4
