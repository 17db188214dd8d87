"""tests/processes.py: what a test starts in a session of its own dies with
the test run, however the run ends: a pytest is started that launches a
process tree through the harness and sleeps; it is killed with SIGKILL (the
pytest process alone, as a CI time limit or the OOM killer would), and every
process of the tree, and the watchdog, must be gone within seconds."""
import glob
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from .harness import REPO, end_group, popen, run
from .processes import alive, proc_stat, wait_for

# the tree a launcher builds: a child in the group (as torchrun is under
# dist_train.sh's bash) and a process that leaves the group for a session of
# its own, with a child of its own (as torchrun's ranks do)
TREE = textwrap.dedent('''\
    sleep 600 &
    echo $! >> "$PIDS"
    "$PYTHON" -c '
    import os, subprocess, sys, time
    os.setsid()
    kid = subprocess.Popen(["sleep", "600"])
    with open(sys.argv[1], "a") as f:
        f.write(f"{os.getpid()}\\n{kid.pid}\\n")
    time.sleep(600)' "$PIDS" &
    echo $$ >> "$PIDS"
    wait
''')

INNER = textwrap.dedent('''\
    import os, sys, time
    sys.path.insert(0, {repo!r})
    from tests.harness import popen, run_dist_train

    def test_launch_and_sleep():
        if {what!r} == 'dist_train':  # blocks: torchrun, 2 ranks, 10^5 iters
            run_dist_train({folder!r} + '/work', 2, 100000,
                           options=['custom_hooks=[]'])
        proc = popen(['bash', '-c', {tree!r}], env=dict(
            os.environ, PIDS={folder!r} + '/pids', PYTHON=sys.executable))
        with open({folder!r} + '/watchdog', 'w') as f:
            f.write(str(proc.watchdog.pid))
        time.sleep(600)
''')


def inner_pytest(tmp_path, what: str, *args):
    """Start a pytest running one test that launches ``what`` and sleeps
    (in a session of its own, through ``popen``: even this test's own
    failure leaves nothing)."""
    test = tmp_path / 'test_inner.py'
    test.write_text(INNER.format(repo=REPO, what=what, folder=str(tmp_path),
                                 tree=TREE))
    env = {k: v for k, v in os.environ.items()
           if not k.startswith('PYTEST_XDIST')}
    with open(tmp_path / 'inner.log', 'w') as log:
        return popen([sys.executable, '-m', 'pytest', str(test), '-q', '-s',
                      '-p', 'no:cacheprovider', *args], cwd=tmp_path,
                     env=env, stdout=log, stderr=subprocess.STDOUT)


def gone_within(pids, timeout: float) -> float:
    """Seconds until none of ``pids`` (pid: start time) runs."""
    t0 = time.monotonic()
    try:
        wait_for(lambda: not any(alive(p, s) for p, s in pids.items()),
                 timeout, 'end of the launched processes')
    except AssertionError:
        left = [p for p, s in pids.items() if alive(p, s)]
        raise AssertionError(f'still running {timeout} s after the kill: '
                             f'{left}') from None
    return time.monotonic() - t0


def started(pids) -> dict:
    return {p: proc_stat(p)[4] for p in pids if alive(p)}


@pytest.mark.parametrize('xdist', [False, True], ids=['pytest', 'xdist'])
def test_tree_dies_with_killed_pytest(tmp_path, xdist):
    """Under pytest-xdist the controller is killed: its worker, running the
    test, goes on for a while; the watchdog watches both."""
    inner = inner_pytest(tmp_path, 'tree', *(['-n', '1'] if xdist else []))
    try:
        pid_file = tmp_path / 'pids'
        wait_for(lambda: pid_file.is_file()
                 and len(pid_file.read_text().split()) == 4
                 and (tmp_path / 'watchdog').is_file(), 120,
                 'launched tree', inner)
        tree = started(map(int, pid_file.read_text().split()))
        tree.update(started([int((tmp_path / 'watchdog').read_text())]))
        assert len(tree) == 5, (tmp_path / 'inner.log').read_text()
        sessions = {proc_stat(p)[3] for p in tree}
        assert len(sessions) == 3  # the launch's, its escapee's, watchdog's
        os.kill(inner.pid, signal.SIGKILL)  # pytest (the controller) only
        print(f'all 5 gone {gone_within(tree, 10):.2f} s after kill -9')
    finally:
        end_group(inner)


@pytest.mark.slow
def test_dist_train_dies_with_killed_pytest(tmp_path):
    """The case of issue 40: a pytest killed while a test runs
    tools/dist_train.sh (bash, torchrun, 2 gloo ranks) through the harness."""
    inner = inner_pytest(tmp_path, 'dist_train')
    work = str(tmp_path / 'work')

    def job():  # bash, torchrun and both ranks, once both ranks run
        pids = [int(n) for n in os.listdir('/proc') if n.isdigit()]
        ours = [p for p in pids if work in _cmdline(p)]
        ranks = [p for p in ours if 'tools/train.py' in _cmdline(p)
                 and 'torch.distributed.run' not in _cmdline(p)]
        return ours if len(ranks) == 2 else None

    def training():
        return any('Iter(train)' in open(log, errors='replace').read()
                   for log in glob.glob(f'{work}/*/*.log'))

    try:
        wait_for(lambda: job() and training(), 300, 'two ranks training',
                 inner)
        tree = started(job())
        assert len(tree) >= 4, [_cmdline(p) for p in tree]  # bash, torchrun
        os.kill(inner.pid, signal.SIGKILL)
        print(f'all {len(tree)} gone {gone_within(tree, 15):.2f} s after '
              'kill -9')
    finally:
        end_group(inner)


def _cmdline(pid) -> str:
    try:
        with open(f'/proc/{pid}/cmdline', 'rb') as f:
            return f.read().replace(b'\0', b' ').decode()
    except OSError:
        return ''


def test_run_timeout_kills_the_whole_group(tmp_path):
    """A timeout ends the command's whole group, not only the command (what
    ``subprocess.run`` does), and ``run`` raises as ``subprocess.run``."""
    pid_file = tmp_path / 'pid'
    with pytest.raises(subprocess.TimeoutExpired):
        run(['bash', '-c', f'sleep 600 & echo $! > {pid_file}; wait'],
            timeout=2)
    pid = int(pid_file.read_text())
    wait_for(lambda: not alive(pid), 5, 'end of the background sleep')


def test_popen_child_gets_its_own_session_and_death_signal(tmp_path):
    proc = popen([sys.executable, '-c', (
        'import ctypes, os\n'
        'sig = ctypes.c_int()\n'
        'ctypes.CDLL(None).prctl(2, ctypes.byref(sig), 0, 0, 0)\n'
        'print(sig.value, os.getsid(0) == os.getpid())')],
        stdout=subprocess.PIPE, text=True)
    try:
        assert proc.communicate(timeout=60)[0].split() == [
            str(int(signal.SIGKILL)), 'True']
    finally:
        end_group(proc)
    # the watchdog exits once nothing of the launch runs
    assert proc.watchdog.wait(timeout=10) == 0
