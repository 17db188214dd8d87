import numpy as np
import pytest
import torch

from mmsymmim.datasets.transforms import (
    SymmetricMaskGenerator,
    checkerboard_mask,
)


def formula(h, w, k, phase):
    """The paper's rule, written as plainly as possible."""
    out = np.zeros((h, w), dtype=bool)
    for i in range(h):
        for j in range(w):
            out[i, j] = (i // k + j // k + phase) % 2 == 1
    return out


@pytest.mark.parametrize('grid', [(8, 8), (14, 14), (7, 12), (6, 10)])
@pytest.mark.parametrize('k', [1, 2, 3, 4])
@pytest.mark.parametrize('phase', [0, 1])
def test_matches_formula(grid, k, phase):
    if k >= min(grid):
        pytest.skip('scale too large for the grid')
    mask = checkerboard_mask(grid, torch.tensor([k]), torch.tensor([phase]))
    assert mask.shape == (1, *grid) and mask.dtype == torch.bool
    np.testing.assert_array_equal(mask[0].numpy(), formula(*grid, k, phase))


def test_batch_has_own_scale_and_phase():
    ks = torch.tensor([1, 2, 3, 1])
    ps = torch.tensor([0, 1, 1, 1])
    masks = checkerboard_mask((12, 12), ks, ps)
    for m, k, p in zip(masks, ks.tolist(), ps.tolist()):
        np.testing.assert_array_equal(m.numpy(), formula(12, 12, k, p))


@pytest.mark.parametrize('grid,k', [((8, 8), 1), ((8, 8), 2), ((8, 8), 4),
                                    ((14, 14), 1), ((14, 14), 7),
                                    ((12, 4), 2)])
@pytest.mark.parametrize('phase', [0, 1])
def test_exactly_half_when_grid_divides_by_2k(grid, k, phase):
    mask = checkerboard_mask(grid, torch.tensor([k]), torch.tensor([phase]))
    assert mask.sum().item() * 2 == grid[0] * grid[1]


def test_vit_b_coarse_board_counts():
    """14x14 tokens, k=2: a 7x7 board -> 96 or 100 masked by phase."""
    counts = {
        p: checkerboard_mask((14, 14), torch.tensor([2]),
                             torch.tensor([p])).sum().item()
        for p in (0, 1)
    }
    assert sorted(counts.values()) == [96, 100]


@pytest.mark.parametrize('size', [2, 8, 14])
@pytest.mark.parametrize('phase', [0, 1])
def test_fine_board_mirror_is_complement(size, phase):
    mask = checkerboard_mask((size, size), torch.tensor([1]),
                             torch.tensor([phase]))[0]
    assert torch.equal(mask.flip(-1), ~mask)
    # every hidden token has a visible mirror partner
    assert not (mask & mask.flip(-1)).any()


def test_phases_complement():
    m0 = checkerboard_mask((8, 8), torch.tensor([2]), torch.tensor([0]))
    m1 = checkerboard_mask((8, 8), torch.tensor([2]), torch.tensor([1]))
    assert torch.equal(m0, ~m1)


def test_transform_multiview_shapes_and_values():
    gen = SymmetricMaskGenerator(
        input_size=32, model_patch_size=4, scale=1, ema_scale=2)
    img = np.zeros((32, 32, 3), np.uint8)
    out = gen.transform(dict(img=[img, img]))
    assert out['mask'].shape == (2, 8, 8)
    assert out['ema_mask'].shape == (2, 8, 8)
    for v in range(2):
        m = out['mask'][v].numpy()
        assert any((m == formula(8, 8, 1, p)).all() for p in (0, 1))
        e = out['ema_mask'][v].numpy()
        assert any((e == formula(8, 8, 2, p)).all() for p in (0, 1))


def test_transform_single_view_and_no_ema():
    gen = SymmetricMaskGenerator(
        input_size=224, model_patch_size=16, scale=[1, 2], phase=0,
        ema_scale=None)
    out = gen.transform(dict(img=np.zeros((224, 224, 3), np.uint8)))
    assert out['mask'].shape == (14, 14)
    assert 'ema_mask' not in out
    assert any(torch.equal(out['mask'], torch.from_numpy(formula(
        14, 14, k, 0))) for k in (1, 2))


def test_random_phase_draws_both():
    np.random.seed(0)
    gen = SymmetricMaskGenerator(input_size=32, model_patch_size=4)
    img = np.zeros((32, 32, 3), np.uint8)
    firsts = {bool(gen.transform(dict(img=img))['mask'][0, 0])
              for _ in range(40)}
    assert firsts == {True, False}


@pytest.mark.parametrize('kwargs,match', [
    (dict(input_size=30, model_patch_size=4), 'not divisible'),
    (dict(input_size=32, model_patch_size=4, scale=8), 'too large'),
    (dict(input_size=32, model_patch_size=4, ema_scale=[2, 9]), 'ema_scale'),
    (dict(input_size=32, model_patch_size=4, scale=0), 'positive int'),
    (dict(input_size=32, model_patch_size=4, phase=2), 'phase'),
    (dict(input_size=32, model_patch_size=4, ema_phase='odd'), 'ema_phase'),
])
def test_bad_arguments_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SymmetricMaskGenerator(**kwargs)


def test_wrong_image_size_raises():
    gen = SymmetricMaskGenerator(input_size=32, model_patch_size=4)
    with pytest.raises(ValueError, match='28x28.*input_size'):
        gen.transform(dict(img=np.zeros((28, 28, 3), np.uint8)))


def test_registered_in_mmpretrain():
    from mmpretrain.registry import TRANSFORMS
    t = TRANSFORMS.build(
        dict(type='SymmetricMaskGenerator', input_size=32, model_patch_size=4))
    assert isinstance(t, SymmetricMaskGenerator)


@pytest.mark.parametrize('scale,phase', [(1, 'random'), ([1, 2, 3], 0)])
def test_device_draw_follows_formula(scale, phase):
    gen = SymmetricMaskGenerator(input_size=32, model_patch_size=4,
                                 scale=scale, phase=phase, ema_scale=2)
    torch.manual_seed(0)
    mask, ema = gen.draw(16, 2, torch.device('cpu'))
    assert mask.shape == ema.shape == (16, 2, 8, 8)
    i, j = np.meshgrid(np.arange(8), np.arange(8), indexing='ij')
    boards = {(k, p): torch.from_numpy((i // k + j // k + p) % 2 == 1)
              for k in (1, 2, 3) for p in (0, 1)}
    ks = gen.scales
    ps = (0, 1) if phase == 'random' else (phase, )
    for m in mask.flatten(0, 1):
        assert any(torch.equal(m, boards[(k, p)]) for k in ks for p in ps)
    for m in ema.flatten(0, 1):
        assert any(torch.equal(m, boards[(2, p)]) for p in (0, 1))
