"""Resume under torch's ``weights_only=True`` default.

Why: torch >= 2.6 loads checkpoints with weights_only=True. mmengine 0.10.7
saves the message hub as HistoryBuffer objects holding NumPy arrays, so
``Runner(resume=True)`` dies ("Unsupported global: HistoryBuffer"), and
allow-listing fails further on NumPy 2's pickles (mmengine issue 1655).
Fix: the message hub's state is written as tensors and plain Python values,
and read back into HistoryBuffers, so every checkpoint mmsymmim writes loads
with weights_only=True; loading is untouched (user files stay safe).
Drop when mmengine releases its fix (after 0.10.7).
"""
import numpy as np
import torch
from mmengine.logging import HistoryBuffer, MessageHub

_BUFFER_TAG = '__mmsymmim_history_buffer__'


def _to_plain(value):
    """NumPy values to tensors / Python scalars, recursively."""
    if isinstance(value, HistoryBuffer):
        return {
            _BUFFER_TAG: True,
            'log': torch.from_numpy(
                np.asarray(value._log_history, dtype=np.float64)),
            'count': torch.from_numpy(
                np.asarray(value._count_history, dtype=np.int64)),
            'max_length': int(value.max_length),
        }
    if isinstance(value, np.ndarray):
        return torch.from_numpy(np.ascontiguousarray(value))
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return type(value)((k, _to_plain(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return type(value)(_to_plain(v) for v in value)
    return value


def _from_plain(value):
    """Inverse of :func:`_to_plain` for history buffers."""
    if isinstance(value, dict) and value.get(_BUFFER_TAG):
        return HistoryBuffer(value['log'].tolist(), value['count'].tolist(),
                             value['max_length'])
    if isinstance(value, dict):
        return type(value)((k, _from_plain(v)) for k, v in value.items())
    return value


_hub_state_dict = MessageHub.state_dict
_hub_load_state_dict = MessageHub.load_state_dict


def _plain_state_dict(self) -> dict:
    return _to_plain(_hub_state_dict(self))


def _plain_load_state_dict(self, state_dict) -> None:
    if isinstance(state_dict, dict):
        state_dict = dict(state_dict)
        state_dict['log_scalars'] = _from_plain(state_dict['log_scalars'])
    _hub_load_state_dict(self, state_dict)


MessageHub.state_dict = _plain_state_dict
MessageHub.load_state_dict = _plain_load_state_dict
