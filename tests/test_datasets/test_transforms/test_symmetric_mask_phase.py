"""The board phase: 0 is the paper's printed fixed board, 'random' our
departure from it, anything else a clear error."""
import numpy as np
import pytest
import torch

from mmsymmim.datasets.transforms import SymmetricMaskGenerator


def printed_board(h, w, k=1):
    """The paper's formula, no phase: (floor(i/k) + floor(j/k)) mod 2 = 1."""
    i = torch.arange(h)[:, None] // k
    j = torch.arange(w)[None] // k
    return (i + j) % 2 == 1


@pytest.mark.parametrize('phase', [0, np.int64(0)])
def test_phase_0_is_the_papers_fixed_board(phase):
    torch.manual_seed(0)
    gen = SymmetricMaskGenerator(input_size=224, model_patch_size=16,
                                 phase=phase, ema_phase=phase)
    assert gen.phase == 0 and type(gen.phase) is int
    online, ema = gen.draw(32, 2)
    assert all(torch.equal(m, printed_board(14, 14)) for m in
               online.flatten(0, 1))
    assert all(torch.equal(m, printed_board(14, 14, 2)) for m in
               ema.flatten(0, 1))
    out = gen.transform(dict(img=[np.zeros((224, 224, 3), np.uint8)] * 2))
    assert torch.equal(out['mask'][0], printed_board(14, 14))
    assert "phase=0" in repr(gen)


def test_phase_1_is_its_complement():
    gen = SymmetricMaskGenerator(input_size=32, model_patch_size=4, phase=1)
    online, _ = gen.draw(4, 2)
    assert all(torch.equal(m, ~printed_board(8, 8)) for m in
               online.flatten(0, 1))


def test_random_phase_draws_both_boards():
    torch.manual_seed(0)
    gen = SymmetricMaskGenerator(input_size=32, model_patch_size=4,
                                 phase='random')
    online, _ = gen.draw(32, 2)
    fixed = [torch.equal(m, printed_board(8, 8)) for m in online.flatten(0, 1)]
    assert any(fixed) and not all(fixed)


@pytest.mark.parametrize('field', ['phase', 'ema_phase'])
@pytest.mark.parametrize('bad', [2, -1, 0.0, 1.0, 0.5, True, False, '0',
                                 'Random', None, [0]])
def test_bad_phase_is_a_clear_error(field, bad):
    with pytest.raises(ValueError) as err:
        SymmetricMaskGenerator(input_size=32, model_patch_size=4,
                               **{field: bad})
    msg = str(err.value)
    assert f'`{field}` must be 0 or 1' in msg and "'random'" in msg
    assert "0 is the paper's printed board" in msg and repr(bad) in msg
