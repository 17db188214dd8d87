"""Nothing outlives a killed run: dataloader workers die with their trainer
(mmsymmim.engine.worker_lifetime), under tools/train.py and torchrun."""
import os
import signal
import subprocess
import sys
import time

import pytest
import torch
from mmengine.dataset import worker_init_fn as mmengine_worker_init_fn
from mmengine.runner import Runner

from mmsymmim.engine import worker_lifetime
from ..harness import (
    DIST_TRAIN,
    MASK_TOKEN_DEMO,
    REPO,
    end_group,
    free_port,
    popen,
    run_train,
    tiny_options,
    train_cmd,
)
from ..processes import wait_for

# Each sample also carries its two views as numpy arrays (metainfo): a batch
# is then ~120 KiB pickled inline (no shared memory for numpy, as for mmdet's
# BitmapMasks), more than the 64 KiB result pipe holds. A worker that put one
# after its trainer stopped reading blocks in the queue's feeder thread, so
# PyTorch's own parent watchdog never ends it: the orphan of issue 15.
WORKERS = ['train_dataloader.num_workers=2',
           'train_dataloader.persistent_workers=True', 'custom_hooks=[]',
           'train_dataloader.dataset.pipeline.2.meta_keys=[img]']
LONG = 100000  # iterations: the run is still going when it is killed


# --- processes, from /proc ---------------------------------------------------
def _stat(pid):
    try:
        with open(f'/proc/{pid}/stat') as f:
            fields = f.read().rsplit(')', 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return fields[0], int(fields[1])  # state, parent pid


def alive(pid) -> bool:
    """Running (a zombie is dead: its parent has just not reaped it)."""
    stat = _stat(pid)
    return stat is not None and stat[0] not in 'ZX'


def children(pid) -> list:
    kids = []
    for name in os.listdir('/proc'):
        if name.isdigit():
            stat = _stat(name)
            if stat is not None and stat[1] == pid and alive(name):
                kids.append(int(name))
    return kids


def cmdline(pid) -> str:
    try:
        with open(f'/proc/{pid}/cmdline', 'rb') as f:
            return f.read().replace(b'\0', b' ').decode()
    except (FileNotFoundError, ProcessLookupError):
        return ''


def wait_gone(pids, timeout, what):
    """Poll until none of ``pids`` runs; fail naming the survivors."""
    try:
        wait_for(lambda: not any(map(alive, pids)), timeout, what)
    except AssertionError as e:
        left = [f'{p}: {cmdline(p)[:60]}' for p in pids if alive(p)]
        raise AssertionError(f'{e}; still running: {left}') from None


def log_has(path, text):
    return lambda: path.is_file() and text in path.read_text(errors='replace')


def start(cmd, log, env=None):
    """Run ``cmd`` in its own session (process group = its pid), dying with
    the test run (harness ``popen``); ``end_group`` cleans up."""
    with open(log, 'w') as out:
        return popen(cmd, cwd=REPO, env=env, stdout=out,
                     stderr=subprocess.STDOUT)


# --- the wrapper -------------------------------------------------------------
def test_wrapper_keeps_mmengine_seeding(fmnist_root):
    """Every loader Runner.build_dataloader returns gets the wrapper, around
    mmengine's worker_init_fn (seeding) or around nothing (seed=None)."""
    cfg = dict(batch_size=2, num_workers=1,
               sampler=dict(type='DefaultSampler', shuffle=False),
               dataset=dict(type='FashionMNISTIDX', data_root=fmnist_root,
                            split='test', indices=4, pipeline=[]))
    seeded = Runner.build_dataloader(cfg, seed=3)
    init = seeded.worker_init_fn
    assert isinstance(init, worker_lifetime.DieWithTrainer)
    assert init.trainer_pid == os.getpid()
    assert init.worker_init_fn.func is mmengine_worker_init_fn
    assert init.worker_init_fn.keywords['seed'] == 3
    unseeded = Runner.build_dataloader(cfg)
    assert unseeded.worker_init_fn.worker_init_fn is None
    # applied once, even to a loader passed in built
    assert Runner.build_dataloader(seeded).worker_init_fn is init
    # the workers run it (seeding kept: two epochs, same seed, same draws)
    draws = torch.utils.data.DataLoader(
        _RandomDraw(), num_workers=2, worker_init_fn=init)
    assert worker_lifetime.tie_workers_to_trainer(draws) is draws
    assert draws.worker_init_fn is init
    first, second = list(draws), list(draws)
    assert torch.equal(torch.cat(first), torch.cat(second))


class _RandomDraw(torch.utils.data.Dataset):

    def __len__(self):
        return 2

    def __getitem__(self, i):
        return torch.rand(1)


def test_worker_death_signal_is_set():
    """In a forked child the kernel reports SIGKILL as the death signal."""
    import ctypes
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        os.close(r)
        worker_lifetime.die_with_parent(os.getppid())
        sig = ctypes.c_int()
        libc = ctypes.CDLL(None)
        libc.prctl(2, ctypes.byref(sig), 0, 0, 0)  # PR_GET_PDEATHSIG
        os.write(w, str(sig.value).encode())
        os._exit(0)
    os.close(w)
    got = os.read(r, 16)
    os.close(r)
    os.waitpid(pid, 0)
    assert int(got) == signal.SIGKILL


def test_worker_exits_if_trainer_died_before_prctl():
    """The race: the trainer is gone by the time the worker sets the signal
    (here: the pid it was told of is not running): the worker kills itself."""
    pid = os.fork()
    if pid == 0:
        worker_lifetime.die_with_parent(2 ** 22 + 1)  # above pid_max: no one
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL


# --- kill -9 of tools/train.py -----------------------------------------------
@pytest.mark.slow
def test_workers_die_with_killed_trainer(fmnist_root, tmp_path):
    log = tmp_path / 'train.log'
    proc = start(train_cmd(tmp_path / 'work', LONG, options=WORKERS), log)
    try:
        wait_for(log_has(log, 'Iter(train) ['), 300, 'training iteration',
                 proc)
        workers = wait_for(lambda: children(proc.pid), 30, 'workers', proc)
        assert len(workers) == 2, [cmdline(p) for p in workers]
        os.kill(proc.pid, signal.SIGKILL)  # the trainer only
        killed = time.monotonic()
        assert proc.wait(timeout=30) == -signal.SIGKILL
        wait_gone(workers, 15, 'end of the workers of the killed trainer')
        print(f'workers gone {time.monotonic() - killed:.2f} s after kill -9')
    finally:
        end_group(proc)


# --- torchrun: one rank killed, torchrun killed ------------------------------
def rank_of(pid):
    try:
        with open(f'/proc/{pid}/environ', 'rb') as f:
            items = f.read().split(b'\0')
    except (FileNotFoundError, ProcessLookupError):
        return None
    env = dict(kv.split(b'=', 1) for kv in items if b'=' in kv)
    return int(env.get(b'RANK', b'-1'))


def descendants(pid) -> list:
    found, todo = [], [pid]
    while todo:
        kids = children(todo.pop())
        found += kids
        todo += kids
    return found


def start_dist_job(tmp_path, *options):
    """dist_train.sh: 2 gloo ranks with 2 loader workers each, a run long
    enough to be killed; returns (Popen of the script, work dir)."""
    work = tmp_path / 'work'
    env = dict(os.environ, PYTHON=sys.executable, PORT=str(free_port()))
    cmd = [
        'bash', DIST_TRAIN, MASK_TOKEN_DEMO, '2', '--work-dir',
        str(work), '--cfg-options', 'env_cfg.dist_cfg.backend=gloo',
        *tiny_options(MASK_TOKEN_DEMO, LONG), 'train_dataloader.batch_size=8',
        *options, *WORKERS
    ]
    return start(cmd, tmp_path / 'dist.log', env), work


def dist_job(proc):
    """(torchrun's pid, {rank: pid}) once both ranks (children of torchrun)
    run 2 workers each, else None."""
    torchrun = [p for p in children(proc.pid)
                if 'torch.distributed.run' in cmdline(p)]
    ranks = [p for t in torchrun for p in children(t)
             if 'tools/train.py' in cmdline(p)]
    if len(ranks) == 2 and all(len(children(r)) == 2 for r in ranks):
        return torchrun[0], {rank_of(r): r for r in ranks}


@pytest.mark.slow
def test_torchrun_one_rank_killed(fmnist_root, tmp_path):
    """2 gloo processes with 2 workers each; SIGKILL to rank 1: torchrun
    exits non-zero within seconds, no process of the job is left, and the work
    dir resumes."""
    proc, work = start_dist_job(tmp_path,
                                'default_hooks.checkpoint.interval=1')
    try:
        wait_for(lambda: (work / 'last_checkpoint').is_file(), 300,
                 'first checkpoint', proc)
        _, ranks = wait_for(lambda: dist_job(proc), 60,
                            'two ranks with two workers each', proc)
        everyone = descendants(proc.pid)
        assert len(everyone) >= 7, [cmdline(p) for p in everyone]
        os.kill(ranks[1], signal.SIGKILL)
        killed = time.monotonic()
        rc = proc.wait(timeout=60)
        exited = time.monotonic() - killed
        assert rc != 0
        assert exited < 20, f'torchrun took {exited:.1f} s to exit'
        wait_gone(everyone, 15, 'end of every process of the job')
        print(f'torchrun exit {rc} {exited:.2f} s after kill -9 of rank 1; '
              f'all {len(everyone)} processes gone '
              f'{time.monotonic() - killed:.2f} s after')
    finally:
        end_group(proc)

    # the work dir resumes: one more iteration after the last checkpoint
    last = (work / 'last_checkpoint').read_text().strip()
    assert os.path.isfile(last), last
    step = int(last.rsplit('iter_', 1)[1].split('.')[0])
    out = run_train(work, step + 1, '--resume', options=['custom_hooks=[]'])
    assert 'resumed' in out.out.lower()
    assert (work / f'iter_{step + 1}.pth').is_file()


@pytest.mark.slow
def test_torchrun_killed_takes_its_trainers(fmnist_root, tmp_path):
    """SIGKILL to torchrun itself (it cannot stop its trainers then): both
    ranks and their loader workers are gone within seconds."""
    proc, _ = start_dist_job(tmp_path)
    everyone = []
    try:
        torchrun, _ = wait_for(lambda: dist_job(proc), 300,
                               'two ranks with two workers each', proc)
        everyone = descendants(torchrun)
        assert len(everyone) >= 6, [cmdline(p) for p in everyone]
        os.kill(torchrun, signal.SIGKILL)
        killed = time.monotonic()
        wait_gone(everyone, 15, 'end of the ranks and their workers')
        print(f'all {len(everyone)} processes under torchrun gone '
              f'{time.monotonic() - killed:.2f} s after its kill -9')
    finally:
        end_group(proc)
        for pid in filter(alive, everyone):  # torchrun's own sessions
            os.kill(pid, signal.SIGKILL)
