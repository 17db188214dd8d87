"""RNGStateHook: the random streams travel with a checkpoint and come back
on a resume, not on ``load_from``; several processes are refused."""
import random
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from mmsymmim.engine.hooks import rng_state_hook
from mmsymmim.engine.hooks.rng_state_hook import RNGStateHook


def draw():
    return (torch.rand(3).tolist(), np.random.rand(3).tolist(),
            [random.random() for _ in range(3)])


@pytest.mark.parametrize('resume_at,same', [(5, True), (0, False)])
def test_streams_come_back_on_resume_only(resume_at, same):
    """Saved after iteration 4 (the checkpoint's next iteration is 5): a run
    resuming at 5 draws what followed the save; a run that loaded the file
    to start afresh (iteration 0) keeps its own streams."""
    torch.manual_seed(0), np.random.seed(0), random.seed(0)
    hook, checkpoint = RNGStateHook(), {}
    hook.before_save_checkpoint(SimpleNamespace(iter=4), checkpoint)
    after_save = draw()
    torch.manual_seed(1), np.random.seed(1), random.seed(1)
    fresh = RNGStateHook()
    fresh.after_load_checkpoint(None, checkpoint)
    fresh.before_train_iter(SimpleNamespace(iter=resume_at), 0)
    assert (draw() == after_save) is same
    assert fresh._pending is None  # applied (or dropped) once


def test_several_processes_are_refused(monkeypatch):
    monkeypatch.setattr(rng_state_hook, 'get_world_size', lambda: 2)
    with pytest.raises(RuntimeError, match='RNGStateHook: 2 processes'):
        RNGStateHook().before_train(None)
    monkeypatch.setattr(rng_state_hook, 'get_world_size', lambda: 1)
    RNGStateHook().before_train(None)
