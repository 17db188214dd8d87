"""Dataloader workers die with their trainer, a feature mmsymmim adds to every
run it loads into.

Why: a DataLoader worker is a child process of the trainer. When the trainer
dies without its clean-up (``kill -9``, the OOM killer, torchrun stopping the
other ranks after one failed, Slurm ending a step), nobody stops the workers.
PyTorch's own watchdog ends an idle worker within 5 s of its parent's death,
but a worker whose results fill the result pipe (batches pickled inline:
numpy arrays, mmdet's masks) blocks writing into it for good (its sibling
workers hold the pipe's read end open), never gets there, and stays, holding
its memory.

How: first thing in each worker, ``prctl(PR_SET_PDEATHSIG, SIGKILL)`` asks
the kernel to kill the worker when its parent dies, however it dies; then the
worker checks that the trainer recorded before the fork is still there (it
may have died between the fork and the prctl: then the worker kills itself).
It is installed by wrapping the ``worker_init_fn`` of every DataLoader that
``Runner.build_dataloader`` (and ``FlexibleRunner.build_dataloader``) returns:
the train / val / test loops and the k-NN hook all build theirs there. The
wrapper then calls mmengine's own worker_init_fn (worker seeding) unchanged,
or nothing where mmengine sets none (``seed=None``). Plain tools/train.py,
torchrun (dist_train.sh) and Slurm (srun) runs alike.

Notes. Linux only: elsewhere the wrapper does nothing and the first build
logs why. The kernel ties the signal to the *thread* that forked the worker;
mmengine iterates its loaders in the main thread, which lives as long as the
trainer. Under the ``forkserver`` start method the workers' parent is the
fork server, which exits when the trainer does, so they follow it.

Trainers under torchrun die with torchrun too. torchrun stops its trainers
when it is stopped with a signal it can catch, but ``kill -9`` of torchrun
(or the OOM killer) leaves them running, holding their devices and waiting in
a collective. So a process that torchrun started (``TORCHELASTIC_RUN_ID`` in
its environment) asks for the same SIGKILL at ``import mmsymmim``
(:func:`tie_trainer_to_launcher`); its loader workers then follow it. torch's
elastic agent starts its trainers from its main thread, so the signal does not
fire while torchrun lives. Plain ``tools/train.py`` and Slurm (srun) runs are
left as they are.

Applied by ``import mmsymmim``. Drop it when PyTorch's DataLoader ties its
workers' lifetime to the trainer's itself (and torchrun its trainers').
"""
import ctypes
import logging
import os
import signal
import sys
import warnings

from mmengine.logging import print_log
from mmengine.runner import Runner
from torch.utils.data import DataLoader

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def _process_alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, dead but not yet reaped, does not)."""
    try:
        with open(f'/proc/{pid}/stat') as f:
            state = f.read().rsplit(')', 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state not in ('Z', 'X')


def tie_trainer_to_launcher() -> bool:
    """In a trainer that torchrun started: SIGKILL when torchrun dies, and
    exit now if it already has. Returns whether the death signal was set
    (False outside torchrun or off Linux)."""
    if 'TORCHELASTIC_RUN_ID' not in os.environ:
        return False
    return die_with_parent(os.getppid())


def die_with_parent(trainer_pid: int) -> bool:
    """In a freshly started child: get SIGKILL when the parent dies, and
    exit now if the trainer ``trainer_pid`` already died. Returns whether the
    death signal is set (False off Linux or if the kernel refused)."""
    if not sys.platform.startswith('linux'):
        return False
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        err = ctypes.get_errno()
        warnings.warn(f'prctl(PR_SET_PDEATHSIG) failed: {os.strerror(err)}; '
                      'this dataloader worker may outlive its trainer')
        return False
    # the race: the trainer died after the fork, before the prctl. Our parent
    # is the trainer (fork, spawn) or the fork server (forkserver).
    if os.getppid() != trainer_pid and not _process_alive(trainer_pid):
        os.kill(os.getpid(), signal.SIGKILL)
    return True


class DieWithTrainer:
    """``worker_init_fn`` wrapper: tie the worker to the trainer, then run
    the wrapped ``worker_init_fn`` (if any). Picklable (spawn start method)."""

    def __init__(self, worker_init_fn, trainer_pid: int) -> None:
        self.worker_init_fn = worker_init_fn
        self.trainer_pid = trainer_pid

    def __call__(self, worker_id: int):
        die_with_parent(self.trainer_pid)
        if self.worker_init_fn is not None:
            return self.worker_init_fn(worker_id)


_warned = False


def tie_workers_to_trainer(loader):
    """Make ``loader``'s workers (started later) die with this process."""
    global _warned
    if not isinstance(loader, DataLoader) or isinstance(
            loader.worker_init_fn, DieWithTrainer):
        return loader
    if not sys.platform.startswith('linux'):
        if not _warned and loader.num_workers > 0:
            _warned = True
            print_log(
                f'dataloader workers are not tied to the trainer on '
                f'{sys.platform} (needs Linux prctl): they may outlive a '
                f'killed run', logger='current', level=logging.WARNING)
        return loader
    loader.worker_init_fn = DieWithTrainer(loader.worker_init_fn, os.getpid())
    return loader


def _patch(runner_cls) -> None:
    build = runner_cls.build_dataloader  # a staticmethod: a plain function

    def build_dataloader(*args, **kwargs):
        return tie_workers_to_trainer(build(*args, **kwargs))

    build_dataloader.__doc__ = build.__doc__
    build_dataloader.__wrapped__ = build
    runner_cls.build_dataloader = staticmethod(build_dataloader)


_patch(Runner)
try:
    from mmengine.runner import FlexibleRunner
except ImportError:  # older mmengine
    FlexibleRunner = None
if FlexibleRunner is not None:
    _patch(FlexibleRunner)
tie_trainer_to_launcher()
