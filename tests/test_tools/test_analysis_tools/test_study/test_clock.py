"""A study run's clock (tools/analysis_tools/study/clock.py): CPU seconds
that count live loader workers, and where a resumed clock began. That the
clock is carried across a resume is tested with the resume itself
(test_training.py)."""
import os
import resource
import subprocess
import sys
import time

from study import clock as clk


def test_clock_counts_live_loader_workers_and_says_where_it_began():
    """CPU seconds include a child still running (a persistent loader
    worker at checkpoint time); a resume from a checkpoint saved without a
    clock times only the iterations after it."""
    child = subprocess.Popen([sys.executable, '-c', (
        'import time\nt = time.process_time()\n'
        'while time.process_time() - t < 0.5: pass\ntime.sleep(30)')])
    try:
        deadline = time.time() + 20
        while (clk.live_children_cpu(os.getpid()) < 0.5
               and time.time() < deadline):
            time.sleep(0.2)
        assert child.poll() is None  # alive, not reaped
        reaped = sum(r.ru_utime + r.ru_stime for r in (
            resource.getrusage(resource.RUSAGE_SELF),
            resource.getrusage(resource.RUSAGE_CHILDREN)))
        assert clk.cpu_seconds() - reaped >= 0.5  # the live child's share
    finally:
        child.kill()
        child.wait()
    clock = clk.RunClock()
    clock.after_load_checkpoint(None, dict(meta=dict(iter=1000)))
    clock.before_train(None)
    assert clock.reading()['since'] == 1000
