"""What both studies do around their runs: one run in a fresh process, and
the lock that keeps two studies from writing one results file."""
import contextlib
import json
import os
import subprocess

from . import paths


def run_in_process(cmd: list, out: str, tag: str, nice: int,
                   streams: int) -> dict:
    """Run ``cmd`` (a ``run.py ... --job`` line that writes ``out``) from the
    repo root, niced to ``nice`` when ``streams`` > 1; return ``out``'s
    record. A failed run raises with the tail of its stderr."""
    niced = (lambda: os.setpriority(
        os.PRIO_PROCESS, 0, max(nice, os.getpriority(os.PRIO_PROCESS, 0)))
    ) if streams > 1 else None
    proc = subprocess.run(cmd, cwd=paths.REPO, capture_output=True, text=True,
                          preexec_fn=niced)
    if proc.returncode:
        raise RuntimeError(f'{tag} failed:\n{proc.stderr[-3000:]}')
    with open(out) as f:
        return json.load(f)


@contextlib.contextmanager
def results_lock(results: str, writing: bool, who: str):
    """Hold ``results``'s lock while a stage that writes runs (a reading
    stage may run beside a writing study); a held lock stops with one line
    naming ``who`` holds it."""
    from filelock import FileLock, Timeout  # a dependency of torch
    lock = FileLock(results + '.lock')
    try:
        if writing:
            lock.acquire(timeout=0)
    except Timeout:
        raise SystemExit(f'another {who} is writing {results} '
                         f'(lock {lock.lock_file}); wait for it or stop it')
    try:
        yield
    finally:
        lock.release()
