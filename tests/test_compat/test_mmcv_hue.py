"""mmsymmim.compat.mmcv_hue: mmcv's hue jitter under NumPy 2."""
import cv2
import mmcv
import numpy as np
import pytest


@pytest.mark.parametrize('backend', ['cv2', 'pillow'])
def test_adjust_hue_negative_factor_wraps(backend):
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)
    out = mmcv.adjust_hue(img, -0.1, backend=backend)  # mmcv 2.1.0 raises
    assert out.shape == img.shape and out.dtype == np.uint8
    if backend == 'cv2':  # hue moved by int(-0.1 * 255) = -25 (mod 256)
        h0 = cv2.cvtColor(img, cv2.COLOR_BGR2HSV_FULL)[..., 0].astype(int)
        expected = cv2.cvtColor(
            cv2.merge([
                ((h0 - 25) % 256).astype(np.uint8),
                *cv2.split(cv2.cvtColor(img, cv2.COLOR_BGR2HSV_FULL))[1:]
            ]),
            cv2.COLOR_HSV2BGR_FULL)
        np.testing.assert_array_equal(out, expected)


def test_adjust_hue_range_checked():
    with pytest.raises(ValueError, match='hue_factor'):
        mmcv.adjust_hue(np.zeros((4, 4, 3), np.uint8), 0.7)


def test_patch_is_applied():
    from mmsymmim.compat import mmcv_hue
    assert mmcv.adjust_hue is mmcv_hue._adjust_hue
