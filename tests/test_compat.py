"""The workarounds in mmsymmim/compat.py do what their comments say."""
import cv2
import mmcv
import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer, MessageHub

import mmsymmim.compat as compat


@pytest.mark.parametrize('backend', ['cv2', 'pillow'])
def test_adjust_hue_negative_factor_wraps(backend):
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)
    out = mmcv.adjust_hue(img, -0.1, backend=backend)  # mmcv 2.1.0 raises
    assert out.shape == img.shape and out.dtype == np.uint8
    if backend == 'cv2':  # hue moved by int(-0.1 * 255) = -25 (mod 256)
        h0 = cv2.cvtColor(img, cv2.COLOR_BGR2HSV_FULL)[..., 0].astype(int)
        expected = cv2.cvtColor(
            cv2.merge([((h0 - 25) % 256).astype(np.uint8),
                       *cv2.split(cv2.cvtColor(img, cv2.COLOR_BGR2HSV_FULL))[1:]]),
            cv2.COLOR_HSV2BGR_FULL)
        np.testing.assert_array_equal(out, expected)


def test_adjust_hue_range_checked():
    with pytest.raises(ValueError, match='hue_factor'):
        mmcv.adjust_hue(np.zeros((4, 4, 3), np.uint8), 0.7)


def test_message_hub_state_is_weights_only_safe(tmp_path):
    hub = MessageHub('compat-test')
    hub.update_scalar('train/loss', 1.5)
    hub.update_scalar('train/loss', np.float64(2.5))
    hub.update_info('iter', np.int64(3), resumed=True)
    torch.save(hub.state_dict(), tmp_path / 'hub.pth')
    state = torch.load(tmp_path / 'hub.pth', weights_only=True)
    again = MessageHub('compat-test-2')
    again.load_state_dict(state)
    buf = again.get_scalar('train/loss')
    assert isinstance(buf, HistoryBuffer)
    assert buf.data[0].tolist() == [1.5, 2.5] and again.get_info('iter') == 3


def test_compat_is_applied():
    assert mmcv.adjust_hue is compat._adjust_hue
    from mmengine.runner import checkpoint
    assert checkpoint.load_state_dict is compat._guarded_load_state_dict
