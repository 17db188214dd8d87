"""mmsymmim.compat.resume_state: the message hub saves weights-only safe."""
import numpy as np
import torch
from mmengine.logging import HistoryBuffer, MessageHub

import mmsymmim  # noqa: F401  applies the patch


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
