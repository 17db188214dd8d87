"""A study run's clock (training.py): wall and CPU seconds of training,
summed over the attempts of a run that resumes from its checkpoints. CPU
seconds count the process and its data loader workers, so they do not
depend on what else the machine runs; wall seconds do."""
import os
import os.path as osp
import resource
import time

from mmengine.hooks import Hook
from mmengine.runner import find_latest_checkpoint


def cpu_seconds() -> float:
    """CPU seconds (user + system) this process and its children (data
    loader workers, reaped or alive) have used so far: a run's cost that
    does not depend on what else the machine runs, unlike its wall clock.
    Live children are read from ``/proc`` (Linux)."""
    used = sum(r.ru_utime + r.ru_stime for r in (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN)))
    return used + live_children_cpu(os.getpid())


def live_children_cpu(pid: int) -> float:
    """utime + stime of ``pid``'s live children (not yet reaped)."""
    tick, total = os.sysconf('SC_CLK_TCK'), 0.
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open(f'/proc/{entry}/stat') as f:
                # after the parenthesised name: state, ppid, ..., utime and
                # stime (fields 14 and 15 of proc(5))
                fields = f.read().rsplit(')', 1)[1].split()
        except (OSError, IndexError):
            continue  # gone meanwhile
        if int(fields[1]) == pid:
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


class RunClock(Hook):
    """A run's training seconds, wall and CPU, summed over its attempts:
    each checkpoint carries the total up to it, and a resumed attempt adds
    its own to the one it loads. Work an interrupted attempt did after its
    last checkpoint is redone and counted once, so a resumed run reports
    what an uninterrupted one would, plus the resume's start-up.
    ``since`` is the iteration the clock started at: 0, or where a resume
    found a checkpoint without a clock (saved before it existed)."""

    priority = 'VERY_LOW'

    def __init__(self) -> None:
        self.carried = dict(wall_s=0., cpu_s=0., since=0)
        self.t0 = self.cpu0 = None

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        self.carried = checkpoint.get('run_clock') or dict(
            wall_s=0., cpu_s=0., since=checkpoint['meta']['iter'])

    def before_train(self, runner) -> None:
        self.t0, self.cpu0 = time.perf_counter(), cpu_seconds()

    def reading(self) -> dict:
        """The totals so far (this attempt's time added)."""
        return dict(
            wall_s=self.carried['wall_s'] + time.perf_counter() - self.t0,
            cpu_s=self.carried['cpu_s'] + cpu_seconds() - self.cpu0,
            since=self.carried['since'])

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint['run_clock'] = self.reading()


def resumed_at(work: str) -> int:
    """The iteration an interrupted attempt left in ``work`` (0: none):
    the checkpoint mmengine's resume will load, named as it names it."""
    name = osp.basename(find_latest_checkpoint(work) or '')
    try:
        return int(name[len('iter_'):-len('.pth')])
    except ValueError:
        return 0
