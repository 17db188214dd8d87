"""Processes a test starts die with the test run, however it ends.

A test that is about a process (kill -9, torchrun, a crash during save)
starts it in its own session (``popen``, ``run``), so that it can kill the
whole group. The flip side: a SIGKILL of pytest (a CI time limit, ``kill -9``,
the OOM killer) no longer reaches it, and ``tools/dist_train.sh`` with
torchrun and two ranks went on training for 35 minutes after the suite was
stopped (issue 40). So each launch gets two guards:

- the direct child asks the kernel for SIGKILL when its parent (this pytest
  process, the thread that forked it) dies: ``prctl(PR_SET_PDEATHSIG)`` in a
  ``preexec_fn``, then exits at once if this process already died;
- a watchdog (this file run as a script, stdlib only, in a session of its
  own so that a kill of pytest's process group misses it) polls the pytest
  process (and, under pytest-xdist, the controlling pytest too: its workers
  run on for a while after it is killed) and, once one of them is gone,
  SIGKILLs every process of the launched session and every descendant it
  has seen, including those that left the session (torchrun starts each rank
  in a session of its own). It exits when nothing it watches over runs.

Stdlib only: the watchdog starts in ~50 ms, and ``tests/test_processes.py``
imports this module without torch.
"""
import ctypes
import os
import signal
import subprocess
import sys
import time
from typing import Optional

WATCHDOG = os.path.abspath(__file__)
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
POLL = 0.25  # s between checks of the watched pytest processes
SCAN_EVERY = 4  # polls between scans of /proc for the launched tree

_prctl = ctypes.CDLL(None, use_errno=True).prctl  # resolved before any fork


# --- /proc ------------------------------------------------------------------
def proc_stat(pid) -> Optional[tuple]:
    """``(state, ppid, pgid, sid, starttime)`` of ``pid``, None if gone."""
    try:
        with open(f'/proc/{pid}/stat', 'rb') as f:
            fields = f.read().rsplit(b')', 1)[1].split()
    except (OSError, IndexError):
        return None
    return (fields[0].decode(), int(fields[1]), int(fields[2]),
            int(fields[3]), int(fields[19]))


def alive(pid, start: Optional[int] = None) -> bool:
    """Running (not a zombie) and, if ``start`` is given, the same process
    (start time in clock ticks since boot, against pid reuse)."""
    stat = proc_stat(pid)
    return (stat is not None and stat[0] not in 'ZX'
            and (start is None or stat[4] == start))


def start_time(pid) -> int:
    stat = proc_stat(pid)
    return -1 if stat is None else stat[4]


def pytest_pids() -> list:
    """The processes of this test run whose death ends what a test started:
    this one, and under pytest-xdist its controller (the worker's parent)."""
    pids = [os.getpid()]
    if os.environ.get('PYTEST_XDIST_WORKER'):
        pids.append(os.getppid())
    return pids


# --- launching --------------------------------------------------------------
def _die_with(parent: int):
    """``preexec_fn``: SIGKILL when the parent dies; exit if it already has."""
    def preexec():
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:
            os._exit(1)
    return preexec


_watchdogs = []


def popen(cmd, **kwargs) -> subprocess.Popen:
    """``subprocess.Popen(cmd, **kwargs)`` in a session of its own (process
    group = its pid), dying with this pytest run (module docstring). The
    watchdog's Popen is ``proc.watchdog``."""
    _watchdogs[:] = [w for w in _watchdogs if w.poll() is None]  # reap
    assert 'preexec_fn' not in kwargs and 'start_new_session' not in kwargs
    watched = [f'{pid}:{start_time(pid)}' for pid in pytest_pids()]
    proc = subprocess.Popen(cmd, start_new_session=True,
                            preexec_fn=_die_with(os.getpid()), **kwargs)
    proc.watchdog = subprocess.Popen(
        [sys.executable, '-S', WATCHDOG, str(proc.pid), *watched],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, start_new_session=True)
    _watchdogs.append(proc.watchdog)
    return proc


def end_group(proc: subprocess.Popen, timeout: float = 60):
    """Clean-up whatever happened: SIGKILL ``proc``'s process group and what
    descends from it now (sessions of its own included), reap ``proc``."""
    if proc.returncode is None:  # not reaped: the group id is still its own
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    Tree(proc.pid).kill()
    proc.wait(timeout=timeout)


def wait_for(condition, timeout: float, what: str, proc=None):
    """Poll ``condition`` every 0.1 s until truthy (returned) or ``timeout``
    seconds (an AssertionError naming ``what``); a ``proc`` that ends
    meanwhile fails the wait at once, with its return code."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        assert proc is None or proc.poll() is None, (
            f'process ended (rc {proc.returncode}) while waiting for {what}')
        time.sleep(0.1)
    raise AssertionError(f'no {what} within {timeout} s')


def run(cmd, timeout: float = 600, **kwargs) -> subprocess.CompletedProcess:
    """``subprocess.run(cmd, capture_output=True, text=True, timeout=...)``
    through ``popen``; on a timeout (or any exception, KeyboardInterrupt
    included) the whole process group is killed, not only ``cmd``. The
    result also has ``out``: stdout and stderr together."""
    proc = popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                 text=True, **kwargs)
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except BaseException:
        end_group(proc)
        raise
    result = subprocess.CompletedProcess(proc.args, proc.returncode, stdout,
                                         stderr)
    result.out = stdout + stderr
    return result


# --- the watchdog -----------------------------------------------------------
class Tree:
    """The launched session and every process seen descending from it."""

    def __init__(self, sid: int):
        self.sid = sid
        self.seen = {}  # pid -> start time

    def scan(self) -> dict:
        """Add new members and descendants, drop the dead; returns seen."""
        procs = {}
        for name in os.listdir('/proc'):
            if name.isdigit():
                stat = proc_stat(name)
                if stat is not None:
                    procs[int(name)] = stat
        kids = {}
        for pid, (_, ppid, pgid, sid, start) in procs.items():
            kids.setdefault(ppid, []).append(pid)
            if self.sid in (pgid, sid):
                self.seen.setdefault(pid, start)
        todo = [p for p in self.seen if p in procs]
        while todo:
            for kid in kids.get(todo.pop(), ()):
                if kid not in self.seen:
                    self.seen[kid] = procs[kid][4]
                    todo.append(kid)
        for pid, start in list(self.seen.items()):
            stat = procs.get(pid)
            if stat is None or stat[4] != start or stat[0] in 'ZX':
                del self.seen[pid]
        return self.seen

    def kill(self, rounds: int = 50):
        """SIGKILL everything until nothing is left (what forks meanwhile is
        found by the next round's scan)."""
        for _ in range(rounds):
            if not self.scan():
                return
            for pid, start in self.seen.items():
                if alive(pid, start):
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
            time.sleep(0.02)


def watch(sid: int, watched: list):
    """Until nothing of session ``sid`` runs: if a watched ``(pid, start)``
    is gone, kill the tree."""
    tree = Tree(sid)
    polls = 0
    while True:
        if not all(alive(pid, start) for pid, start in watched):
            tree.kill()
            return
        if polls % SCAN_EVERY == 0 and not tree.scan():
            return
        polls += 1
        time.sleep(POLL)


if __name__ == '__main__':  # python processes.py SID PID:START...
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    watch(int(sys.argv[1]),
          [tuple(map(int, w.split(':'))) for w in sys.argv[2:]])
