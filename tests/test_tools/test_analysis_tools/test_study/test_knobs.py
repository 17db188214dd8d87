"""study/knobs.py: the ``mask_ratio`` knob reaches the mask; a row's own
ratio is no knob."""

import pytest

from study import knobs as kn
from study import rows as sr


def test_knob_reaches_the_mask():
    mae = sr.row_config('mae', dict(mask_ratio=0.9))
    assert mae.model.backbone.mask_ratio == 0.9
    rnd = sr.row_config('symmim-random-asym', dict(mask_ratio=0.25))
    gens = [t for t in rnd.train_dataloader.dataset.pipeline
            if t['type'] == 'SimMIMMaskGenerator']
    assert [g['mask_ratio'] for g in gens] == [0.25]
    with pytest.raises(KeyError, match='has no knob'):
        sr.row_config('symmim-asymmetric', dict(mask_ratio=0.5))  # board
    with pytest.raises(ValueError, match=r'mask_ratio must be a float in '
                       r'\(0, 1\)'):
        sr.row_config('mae', dict(mask_ratio=1.5))


def test_own_ratio_is_no_knob():
    """The row's own ratio is the run the study already holds."""
    assert kn.ratio_knobs('mae', 0.75) == {}
    assert kn.ratio_knobs('symmim-random-asym', 0.5) == {}
    assert kn.ratio_knobs('mae', 0.9) == dict(mask_ratio=0.9)
    with pytest.raises(KeyError, match='has no mask ratio'):
        kn.ratio_knobs('symmim-asymmetric', 0.5)
