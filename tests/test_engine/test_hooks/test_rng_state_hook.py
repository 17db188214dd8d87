"""RNGStateHook: each rank's random streams travel with a checkpoint and come
back on a resume, just before the first untrained batch is loaded, not on
``load_from``; a resume on another number of processes is refused."""
import random
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from mmengine.runner import IterBasedTrainLoop

from mmsymmim.engine.hooks import rng_state_hook
from mmsymmim.engine.hooks.rng_state_hook import (
    ResumeWorldSizeError,
    RNGStateHook,
    rank_states,
)


def draw():
    return (torch.rand(3).tolist(), np.random.rand(3).tolist(),
            [random.random() for _ in range(3)])


def resumed_runner(at: int):
    """A runner resumed at iteration ``at`` of an iteration loop whose
    batches are drawn from the streams (a pipeline with no workers)."""
    loop = IterBasedTrainLoop.__new__(IterBasedTrainLoop)
    loop.dataloader_iterator = iter(lambda: draw(), None)
    return SimpleNamespace(iter=at, train_loop=loop)


def save_at(iteration: int) -> dict:
    """A checkpoint saved after ``iteration`` (meta: resume at it + 1)."""
    checkpoint = dict(meta=dict(iter=iteration + 1))
    RNGStateHook().before_save_checkpoint(SimpleNamespace(), checkpoint)
    return checkpoint


@pytest.mark.parametrize('resume_at,same', [(5, True), (0, False)])
def test_streams_come_back_before_the_first_untrained_batch(resume_at, same):
    """Saved after iteration 4: a run resuming at 5 loads its next batch
    from what followed the save, whatever skipping the 5 trained batches
    drew; a run that loaded the file to start afresh keeps its streams."""
    torch.manual_seed(0), np.random.seed(0), random.seed(0)
    checkpoint = save_at(4)
    after_save = draw()
    torch.manual_seed(1), np.random.seed(1), random.seed(1)
    runner, hook = resumed_runner(resume_at), RNGStateHook()
    hook.after_load_checkpoint(runner, checkpoint)
    hook.before_train(runner)
    loop = runner.train_loop
    skipped = [next(loop.dataloader_iterator) for _ in range(resume_at)]
    assert (next(loop.dataloader_iterator) == after_save) is same
    assert not any(s == after_save for s in skipped)
    assert not isinstance(loop.dataloader_iterator,
                          rng_state_hook._RestoreBeforeFetch)  # unwrapped
    assert hook._pending is None


def test_single_process_file_of_before_per_rank_states_still_resumes():
    torch.manual_seed(0), np.random.seed(0), random.seed(0)
    old = save_at(4)['rng_state']
    old = dict(old['ranks'][0], iter=old['iter'])  # the former layout
    assert rank_states(old) == [old]
    after_save = draw()
    runner, hook = resumed_runner(5), RNGStateHook()
    hook.after_load_checkpoint(runner, dict(rng_state=old))
    hook.before_train(runner)
    for _ in range(5):
        next(runner.train_loop.dataloader_iterator)
    assert next(runner.train_loop.dataloader_iterator) == after_save


def test_each_rank_saves_and_takes_its_own(monkeypatch):
    """Rank 0 writes the states every rank gathered; rank 1 resumes with
    the second."""
    torch.manual_seed(7)
    rank1 = rng_state_hook._get_state()
    after_rank1 = draw()
    as_numpy = rng_state_hook._map(rank1, torch.Tensor, lambda t: t.numpy())
    monkeypatch.setattr(rng_state_hook, 'get_world_size', lambda: 2)
    monkeypatch.setattr(rng_state_hook, 'all_gather_object',
                        lambda obj: [obj, as_numpy])
    saved = {}
    runner = SimpleNamespace(
        save_checkpoint=lambda: hook.before_save_checkpoint(None, saved))
    hook = RNGStateHook()
    hook.before_train(runner)  # wraps save_checkpoint: gathers, then saves
    saved['meta'] = dict(iter=3)
    runner.save_checkpoint()
    ranks = saved['rng_state']['ranks']
    assert len(ranks) == 2 and hook._gathered is None
    assert torch.equal(ranks[1]['torch'], rank1['torch'])
    assert isinstance(ranks[0]['numpy']['keys'], torch.Tensor)  # weights_only

    monkeypatch.setattr(rng_state_hook, 'get_rank', lambda: 1)
    torch.manual_seed(0)
    runner, hook = resumed_runner(3), RNGStateHook()
    runner.save_checkpoint = lambda: None
    hook.after_load_checkpoint(runner, saved)
    hook.before_train(runner)
    for _ in range(3):
        next(runner.train_loop.dataloader_iterator)
    assert next(runner.train_loop.dataloader_iterator) == after_rank1


def test_another_number_of_processes_is_refused(monkeypatch):
    checkpoint = save_at(4)
    monkeypatch.setattr(rng_state_hook, 'get_world_size', lambda: 2)
    runner, hook = resumed_runner(5), RNGStateHook()
    runner.save_checkpoint = lambda: None
    hook.after_load_checkpoint(runner, checkpoint)
    with pytest.raises(ResumeWorldSizeError) as err:
        hook.before_train(runner)
    msg = str(err.value)
    assert '\n' not in msg
    assert msg.startswith('RNGStateHook: the checkpoint holds the random '
                          'streams of 1 process(es), this run has 2'), msg
    # load_from on another number of processes: the streams are left alone
    runner, hook = resumed_runner(0), RNGStateHook()
    runner.save_checkpoint = lambda: None
    hook.after_load_checkpoint(runner, checkpoint)
    hook.before_train(runner)


def test_every_pretraining_config_resumes_its_streams():
    """``--resume`` is exact on every shipped pretraining config."""
    import glob
    import os.path as osp

    from mmengine.config import Config

    from ...harness import REPO
    pretraining = 0
    for path in glob.glob(osp.join(REPO, 'configs/**/*.py'), recursive=True):
        if '/_base_/' in path:
            continue
        cfg = Config.fromfile(path, import_custom_modules=False)
        if not cfg.model.type.startswith(('SymMIM', 'MixMask')):
            continue
        pretraining += 1
        hooks = [h['type'] for h in cfg.get('custom_hooks') or []]
        assert hooks.count('RNGStateHook') == 1, (path, hooks)
    assert pretraining >= 20
