"""The in-process tool runner: ``run_tool`` runs a tool as ``python tool.py
args`` would, inside the pytest process (without 5-7 s of imports each),
and ``tool_process_state`` puts back what the run changed. Imported by
``tests/harness.py`` (which the tests import it from).
"""
import contextlib
import gc
import io
import logging
import os
import os.path as osp
import random
import runpy
import sys
import traceback
import warnings
from typing import Optional

import cv2
import numpy as np
import torch
import torch.multiprocessing as mp

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


class ToolRun:
    """What ``subprocess.run(..., capture_output=True, text=True)`` returns,
    for a tool run by ``run_tool``."""

    def __init__(self, args, returncode: int, stdout: str, stderr: str):
        self.args, self.returncode = args, returncode
        self.stdout, self.stderr = stdout, stderr
        self.out = stdout + stderr


def _registries() -> list:
    """mmengine's root registries and all their children (mmpretrain's,
    mmdet's, ...)."""
    from mmengine.registry import Registry, root
    found = [r for r in vars(root).values() if isinstance(r, Registry)]
    for reg in found:  # grows while it is walked
        found.extend(reg._children.values())
    return found


def _managed_classes() -> list:
    """ManagerMixin and its subclasses: DefaultScope, MMLogger, MessageHub,
    Visualizer, ..., each with its own ``_instance_dict``."""
    from mmengine.utils import ManagerMixin
    found = [ManagerMixin]
    for cls in found:
        found.extend(cls.__subclasses__())
    return found


# a fresh interpreter's torch threads (this module is imported before any
# test runs) and warning filters (no -W, no PYTHONWARNINGS)
FRESH_THREADS = torch.get_num_threads()
_FRESH_FILTERS = [('default', DeprecationWarning, '__main__'),
                  ('ignore', DeprecationWarning, ''),
                  ('ignore', PendingDeprecationWarning, ''),
                  ('ignore', ImportWarning, ''),
                  ('ignore', ResourceWarning, '')]


@contextlib.contextmanager
def tool_process_state(out: io.StringIO, err: io.StringIO, cwd: str = REPO,
                       env: Optional[dict] = None):
    """The state a tool run in this process would otherwise leave for the
    next test, saved before and restored after: mmengine's managed instances
    (the current DefaultScope, MMLogger, MessageHub, Visualizer), entries of
    any registry a run replaced, environment variables, working directory,
    ``sys.argv`` / ``sys.path``, RNG states, the multiprocessing start
    method, thread counts (torch's is a new process's during the run: a
    test that set another must not change the run's numbers); the run's log
    files and visualizer backends are
    closed. Meanwhile ``print``, logging to the console and warnings go to
    ``out`` / ``err`` (a fresh process's warning filters), and the objects
    that exist before the run are frozen for the garbage collector: each
    dataset's ``gc.collect()`` in mmengine then scans what the run made,
    not the whole test session's heap, as in a fresh process."""
    managed = {cls: dict(cls._instance_dict) for cls in _managed_classes()}
    registered = {reg: dict(reg._module_dict) for reg in _registries()}
    saved_env, saved_cwd = dict(os.environ), os.getcwd()
    saved_argv, saved_path = list(sys.argv), list(sys.path)
    rng = (torch.get_rng_state(), random.getstate(), np.random.get_state())
    start_method = mp.get_start_method(allow_none=True)
    threads = (torch.get_num_threads(), cv2.getNumThreads())
    # console handlers of loggers that already exist write to out / err
    streams = {sys.stdout: out, sys.stderr: err, sys.__stdout__: out,
               sys.__stderr__: err}
    handlers = [h for cls in managed for inst in managed[cls].values()
                if isinstance(inst, logging.Logger) for h in inst.handlers
                if type(h) is logging.StreamHandler and h.stream in streams]
    old_streams = [h.stream for h in handlers]
    for h in handlers:
        h.stream = streams[h.stream]
    os.environ.update(env or {})
    os.chdir(cwd)
    torch.set_num_threads(FRESH_THREADS)  # bitwise as in a new process
    gc.freeze()
    try:
        with contextlib.redirect_stdout(out), \
                contextlib.redirect_stderr(err), warnings.catch_warnings():
            warnings.resetwarnings()
            for action, category, module in reversed(_FRESH_FILTERS):
                warnings.filterwarnings(action, category=category,
                                        module=module)
            warnings.showwarning = lambda msg, cat, file, line, *_: \
                err.write(warnings.formatwarning(msg, cat, file, line))
            yield
    finally:
        gc.unfreeze()
        for h, stream in zip(handlers, old_streams):
            h.stream = stream
        for cls in _managed_classes():  # with those the run imported
            before = managed.get(cls, {})
            for name, inst in list(cls._instance_dict.items()):
                if before.get(name) is inst:
                    continue
                if isinstance(inst, logging.Logger):
                    for h in inst.handlers:
                        h.close()
                elif hasattr(inst, 'close'):  # Visualizer: its backends
                    inst.close()
            cls._instance_dict.clear()
            cls._instance_dict.update(before)
        for reg, before in registered.items():
            for key, value in before.items():
                if reg._module_dict.get(key) is not value:
                    reg._module_dict[key] = value
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)
        sys.argv[:], sys.path[:] = saved_argv, saved_path
        torch.set_rng_state(rng[0])
        random.setstate(rng[1])
        np.random.set_state(rng[2])
        if mp.get_start_method(allow_none=True) != start_method:
            mp.set_start_method(start_method, force=True)
        torch.set_num_threads(threads[0])
        cv2.setNumThreads(threads[1])


def run_tool(tool: str, *args, cwd: str = REPO,
             env: Optional[dict] = None) -> ToolRun:
    """``python tool args...`` inside this process: the script runs as
    ``__main__`` with ``sys.argv`` set and its folder first on ``sys.path``;
    exit status as Python's (``SystemExit``: its code, a message goes to
    stderr; an exception: its traceback, status 1). ``tool_process_state``
    undoes what the run leaves behind."""
    out, err = io.StringIO(), io.StringIO()
    code = 0
    with tool_process_state(out, err, cwd, env):
        sys.argv[:] = [tool, *map(str, args)]
        sys.path.insert(0, osp.dirname(osp.abspath(tool)))
        try:
            runpy.run_path(tool, run_name='__main__')
        except SystemExit as e:
            if e.code is None or isinstance(e.code, int):
                code = e.code or 0
            else:
                print(e.code, file=err)
                code = 1
        except KeyboardInterrupt:
            raise
        except BaseException:
            traceback.print_exc(file=err)
            code = 1
    return ToolRun([tool, *args], code, out.getvalue(), err.getvalue())
