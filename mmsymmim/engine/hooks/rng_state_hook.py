"""Random-number state in checkpoints, so that a resumed run draws what the
uninterrupted one drew, on every process.

mmengine's resume restores the model, optimiser, schedule and data order and
reseeds the process, but not the random streams: a model that draws on the
device (MixMask's masks and partners, a mask generator's ``draw``) and a
pipeline run in the main process (``num_workers=0``) then draw other numbers
after a resume than they would have. This hook writes each rank's CPU (and
CUDA) torch state, NumPy's and Python's into every checkpoint (as tensors and
plain values, so it loads under ``weights_only=True``): mmengine calls
``runner.save_checkpoint`` on every rank but writes on rank 0 alone, so the
hook gathers all ranks' states there first. On resume each rank takes its
own back just before the first batch it has not trained on is loaded (after
mmengine has skipped the trained ones; for epoch loops, before the epoch
starts). A checkpoint of another number of processes is refused with one
line; a checkpoint loaded to start another run (``load_from``, fine-tuning)
leaves the streams alone. Hooks that run after the checkpoint is written
(priority ``VERY_LOW`` or lower) must not draw from the global streams.
"""
import functools
import logging
import random

import numpy as np
import torch
from mmengine.dist import all_gather_object, get_rank, get_world_size
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.runner import IterBasedTrainLoop

from mmpretrain.registry import HOOKS


def _get_state() -> dict:
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    state = dict(torch=torch.get_rng_state(),
                 numpy=dict(kind=kind, keys=torch.from_numpy(keys.copy()),
                            pos=int(pos), has_gauss=int(has_gauss),
                            gauss=float(gauss)),
                 python=random.getstate())
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


def _set_state(state: dict) -> None:
    torch.set_rng_state(state['torch'])
    n = state['numpy']
    np.random.set_state((n['kind'], n['keys'].numpy(), n['pos'],
                         n['has_gauss'], n['gauss']))
    random.setstate(state['python'])
    if 'cuda' in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state['cuda'])


def _map(obj, kind, fn):
    """``obj`` with every ``kind`` inside (dicts, lists) replaced by
    ``fn(it)``."""
    if isinstance(obj, kind):
        return fn(obj)
    if isinstance(obj, dict):
        return {k: _map(v, kind, fn) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_map(v, kind, fn) for v in obj]
    return obj


def _gather_states() -> list:
    """Every rank's state, in rank order (tensors travel as NumPy arrays:
    torch tensors pickled by ``all_gather_object`` do not unpickle here)."""
    states = all_gather_object(_map(_get_state(), torch.Tensor,
                                    lambda t: t.numpy()))
    return _map(states, np.ndarray, torch.from_numpy)


class ResumeWorldSizeError(RuntimeError):
    """A resume on another number of processes than the checkpoint's
    (``tools/train.py`` prints it as one line)."""


def rank_states(saved: dict) -> list:
    """Every rank's state in a checkpoint's ``rng_state`` (the files of the
    single-process hook before 2026-12-04 hold one, at the top level)."""
    return saved['ranks'] if 'ranks' in saved else [saved]


class _RestoreBeforeFetch:
    """The train loop's batch iterator, which puts ``state`` back just
    before the batch after the ``skip`` ones a resumed loop skips, then
    hands the loop its own iterator back."""

    def __init__(self, loop, state: dict, skip: int) -> None:
        self.loop, self.inner = loop, loop.dataloader_iterator
        self.state, self.skip = state, skip

    def __iter__(self):
        return self

    def __next__(self):
        if self.skip == 0:
            _set_state(self.state)
            self.loop.dataloader_iterator = self.inner
        self.skip -= 1
        return next(self.inner)

    def __getattr__(self, name):
        if name == 'inner':  # not set yet (copy, pickle)
            raise AttributeError(name)
        return getattr(self.inner, name)


@HOOKS.register_module()
class RNGStateHook(Hook):
    """Save every rank's random streams with each checkpoint; restore them
    when a run resumes (``custom_hooks = [dict(type='RNGStateHook')]``)."""

    priority = 'VERY_LOW'

    def __init__(self) -> None:
        self._pending = None  # the loaded checkpoint's rng_state
        self._restore = None  # this rank's state, for the next epoch / iter
        self._gathered = None  # all ranks' states, during a save

    def before_train(self, runner) -> None:
        self._gather_on_save(runner)
        saved, self._pending = self._pending, None
        if saved is None or saved['iter'] != runner.iter:  # load_from
            return
        states, world = rank_states(saved), get_world_size()
        if len(states) != world:
            raise ResumeWorldSizeError(
                f'RNGStateHook: the checkpoint holds the random streams of '
                f'{len(states)} process(es), this run has {world}: resume '
                f'with {len(states)}, or remove RNGStateHook from '
                'custom_hooks to resume without them (not exactly).')
        state = states[get_rank()]
        loop = runner.train_loop
        if isinstance(loop, IterBasedTrainLoop):
            loop.dataloader_iterator = _RestoreBeforeFetch(loop, state,
                                                           runner.iter)
        else:
            self._restore = state

    def _gather_on_save(self, runner) -> None:
        """Wrap ``runner.save_checkpoint`` (called on every rank) so that
        all ranks' states are gathered before rank 0 writes."""
        if get_world_size() == 1:
            return
        save = runner.save_checkpoint

        @functools.wraps(save)
        def save_checkpoint(*args, **kwargs):
            self._gathered = _gather_states()
            try:
                return save(*args, **kwargs)
            finally:
                self._gathered = None

        runner.save_checkpoint = save_checkpoint

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        states = [_get_state()] if get_world_size() == 1 else self._gathered
        if states is None:
            print_log('RNGStateHook: a checkpoint saved by rank 0 alone '
                      'holds no random streams', 'current', logging.WARNING)
            return
        # meta's iter: the iteration a resumed run starts at
        checkpoint['rng_state'] = dict(iter=checkpoint['meta']['iter'],
                                       ranks=states)

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        self._pending = checkpoint.get('rng_state')

    def before_train_epoch(self, runner) -> None:
        if self._restore is not None:
            _set_state(self._restore)
            self._restore = None

    def before_train_iter(self, runner, batch_idx, data_batch=None) -> None:
        self.before_train_epoch(runner)  # a loop that called neither
