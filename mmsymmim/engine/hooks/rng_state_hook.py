"""Random-number state in checkpoints, so that a resumed run draws what the
uninterrupted one drew.

mmengine's resume restores the model, optimiser, schedule and data order and
reseeds the process, but the random streams of the main process are not
restored: a model that draws on the device (MixMask's masks and partners, a
mask generator's ``draw``) then draws other numbers after a resume than it
would have. This hook writes the CPU (and CUDA) torch state, NumPy's and
Python's into every checkpoint (as tensors and plain values, so it loads
under ``weights_only=True``) and puts them back on the first iteration of a
resumed run, after mmengine has advanced the data loader. A checkpoint
loaded to start another run (``load_from``, fine-tuning) leaves the streams
alone: the state is restored only when training resumes at the iteration it
was saved for. Exact with ``num_workers > 0`` (each worker is seeded on its
own); with ``num_workers=0`` the pipeline shares the main stream, and the
first resumed batch is loaded before this hook can act. Single-process runs
only: mmengine writes a checkpoint from rank 0 alone, so only rank 0's
streams could be saved, and every rank would resume with them; a run of
several processes is refused at the start of training.
"""
import random

import numpy as np
import torch
from mmengine.dist import get_world_size
from mmengine.hooks import Hook
from mmpretrain.registry import HOOKS


def _get_state(next_iter: int) -> dict:
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    state = dict(iter=next_iter, torch=torch.get_rng_state(),
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


@HOOKS.register_module()
class RNGStateHook(Hook):
    """Save the random streams with each checkpoint; restore them when a
    run resumes (``custom_hooks = [dict(type='RNGStateHook')]``)."""

    priority = 'VERY_LOW'

    def __init__(self) -> None:
        self._pending = None

    def before_train(self, runner) -> None:
        world = get_world_size()
        if world > 1:
            raise RuntimeError(
                f'RNGStateHook: {world} processes, but a checkpoint is '
                "written by rank 0 alone, so only rank 0's random streams "
                'could be saved and every rank would resume with them. Use '
                'it in single-process runs, or remove it from custom_hooks.')

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        # saved after iteration runner.iter + 1; training resumes there
        checkpoint['rng_state'] = _get_state(runner.iter + 1)

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        self._pending = checkpoint.get('rng_state')

    def before_train_iter(self, runner, batch_idx, data_batch=None) -> None:
        if self._pending is not None:
            if self._pending['iter'] == runner.iter:  # a resume, not load_from
                _set_state(self._pending)
            self._pending = None
