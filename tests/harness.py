"""The one test harness: the tiny architecture, the tiny training run and
the in-process tool runner.

Every test that trains through ``tools/train.py`` (or ``dist_train.sh``) or
builds a model from a demo config goes through here, so the option lists do
not drift apart. Tools run inside the pytest process (``run_tool``: as
``python tool.py args`` would, without 5-7 s of imports each) unless the
process itself is what a test is about (kill -9, torchrun, ``mim``, a crash
during save, resume in a fresh process): those use ``train_cmd`` or
``run_train(..., in_process=False)``, and start it with ``popen`` / ``run``
(tests/processes.py): in a session of its own, killed with everything it
started when the test run ends, even by SIGKILL.
"""
import contextlib
import copy
import gc
import io
import logging
import os
import os.path as osp
import random
import runpy
import shutil
import socket
import sys
import traceback
import warnings
from typing import Optional, Sequence

import cv2
import numpy as np
import torch
import torch.multiprocessing as mp
from filelock import FileLock  # a dependency of torch
from mmengine.config import Config
from mmengine.dataset import default_collate

from .processes import end_group, popen, run  # noqa: F401  (for the tests)

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
TRAIN = osp.join(REPO, 'tools/train.py')
DIST_TRAIN = osp.join(REPO, 'tools/dist_train.sh')
SYMMIM_DEMO = osp.join(  # README command 1: visible tokens
    REPO, 'configs/symmim/symmim_vit-tiny-p4_1xb128-400i_fmnist.py')
MASK_TOKEN_DEMO = osp.join(
    REPO, 'configs/symmim/symmim_vit-tiny-p4_mask-token_1xb128-400i_fmnist.py')
MIXMASK_DEMO = osp.join(
    REPO, 'configs/mixmask/mixmask-mocov2_resnet18-tiny_1xb128-400i_fmnist.py')


def tiny_arch(num_layers: int = 2) -> dict:
    """The tiny ViT of the tests: width 64, 2 heads (patch 4, 32 px in the
    demo config). The transfer tests ask for 4 layers (4 feature levels)."""
    return dict(embed_dims=64, num_layers=num_layers, num_heads=2,
                feedforward_channels=128)


TINY_ARCH = tiny_arch()


def tiny_options(config: str = MASK_TOKEN_DEMO, iters: int = 2,
                 arch: Optional[dict] = None) -> list:
    """``--cfg-options`` that shrink a demo config to a seconds-long run:
    tiny model, batch 16, no loader workers, a 300 / 100-image k-NN report,
    a checkpoint at the end, the schedule fitted to ``iters``: the config's
    peak lr from the first iteration (``tiny_schedule``), then its cosine."""
    opts = [
        'train_dataloader.batch_size=16', 'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False',
        'custom_hooks.0.bank_dataloader.dataset.indices=300',
        'custom_hooks.0.test_dataloader.dataset.indices=100',
        'default_hooks.logger.interval=1', f'train_cfg.max_iters={iters}',
        f'default_hooks.checkpoint.interval={iters}', *tiny_schedule(iters)
    ]
    if config == MIXMASK_DEMO:
        return opts + ['model.queue_len=64']
    arch = arch or TINY_ARCH
    # the config's own custom imports are the subprocess's business
    cfg = Config.fromfile(config, import_custom_modules=False)
    return opts + [f'model.backbone.arch.{k}={v}' for k, v in arch.items()] + [
        f'model.neck.in_channels={arch["embed_dims"]}',
        f'model.mim_neck.{_decoder_width_key(cfg)}={arch["embed_dims"]}'
    ]


def tiny_schedule(iters: int) -> list:
    """The demos' warm-up (LinearLR) and cosine fitted to ``iters``.

    mmengine's LinearLR steps only inside ``[begin, end)`` and never reaches
    its end factor: squeezed to ``end=1`` it holds ``start_factor`` (1e-3 of
    the peak), and the chained cosine after it starts from there, so a tiny
    run used to train at about 1e-6. Here the one warm-up iteration is at
    ``start_factor=1``: the configured peak lr, then the cosine from it."""
    return ['param_scheduler.0.start_factor=1.0', 'param_scheduler.0.end=1',
            'param_scheduler.1.begin=1', f'param_scheduler.1.end={iters}',
            f'param_scheduler.1.T_max={max(iters - 1, 1)}']


def _decoder_width_key(cfg: Config) -> str:
    """SimMIM's decoder takes ``in_channels``, MAE's (SymMIMDecoder)
    ``embed_dim``."""
    neck = cfg.model.mim_neck.type
    return 'embed_dim' if neck == 'SymMIMDecoder' else 'in_channels'


def train_cmd(work_dir, iters: int = 2, *extra,
              config: str = MASK_TOKEN_DEMO, options: Sequence[str] = (),
              arch: Optional[dict] = None) -> list:
    """The ``tools/train.py`` command line of a tiny run (start it with
    ``popen`` or ``run``: it then dies with the test run)."""
    return [
        sys.executable, TRAIN, config, '--work-dir',
        str(work_dir), *extra, '--cfg-options',
        *tiny_options(config, iters, arch), *options
    ]


def run_train(work_dir, iters: int = 2, *extra, config: str = MASK_TOKEN_DEMO,
              options: Sequence[str] = (), arch: Optional[dict] = None,
              check: bool = True, timeout: int = 600,
              in_process: bool = True):
    """Run a tiny training as a user would: ``tools/train.py`` in this
    process (``run_tool``), or in a new one (``in_process=False``). Returns
    ``returncode``, ``stdout``, ``stderr`` and ``out`` (the two together)."""
    cmd = train_cmd(work_dir, iters, *extra, config=config, options=options,
                    arch=arch)
    if in_process:
        proc = run_tool(*cmd[1:])
    else:
        proc = run(cmd, cwd=REPO, timeout=timeout)
    if check:
        assert proc.returncode == 0, proc.out[-4000:]
    return proc


def free_port() -> int:
    """A TCP port no one listens on now (for torchrun's rendezvous: fixed
    ports collide between pytest-xdist workers and concurrent runs)."""
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def once_per_session(tmp_path_factory, name: str, make):
    """``make(folder)`` once per pytest run, its files shared by every
    pytest-xdist worker (the first to come makes them, the others wait on a
    lock); returns the folder."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get('PYTEST_XDIST_WORKER'):  # .../pytest-N/popen-gwK
        root = root.parent
    folder = root / name
    with FileLock(f'{folder}.lock'):
        if not (folder / 'made').is_file():
            shutil.rmtree(folder, ignore_errors=True)  # a worker that failed
            folder.mkdir()
            make(folder)
            (folder / 'made').touch()
    return folder


def run_dist_train(work_dir, nproc: int = 2, iters: int = 3, *extra,
                   config: str = MASK_TOKEN_DEMO, options: Sequence[str] = (),
                   check: bool = True):
    """``tools/dist_train.sh`` with ``nproc`` CPU processes (gloo): a tiny
    run of ``config`` at batch 8 a process, ``extra`` flags (``--resume``)."""
    env = dict(os.environ, PYTHON=sys.executable, PORT=str(free_port()))
    cmd = [
        'bash', DIST_TRAIN, config,
        str(nproc), '--work-dir',
        str(work_dir), *extra, '--cfg-options',
        'env_cfg.dist_cfg.backend=gloo',
        *tiny_options(config, iters), 'train_dataloader.batch_size=8',
        *options
    ]
    proc = run(cmd, cwd=REPO, env=env, timeout=600)
    if check:
        assert proc.returncode == 0, proc.out[-4000:]
    return proc


def tiny_cfg(config: str = MASK_TOKEN_DEMO, **model_overrides) -> Config:
    """A demo config with the tiny ViT, model fields overridden."""
    cfg = Config.fromfile(config)
    if config in (MASK_TOKEN_DEMO, SYMMIM_DEMO):
        cfg.model.backbone.arch = dict(TINY_ARCH)
        cfg.model.neck.in_channels = TINY_ARCH['embed_dims']
        cfg.model.mim_neck[_decoder_width_key(cfg)] = TINY_ARCH['embed_dims']
    cfg.model.update(model_overrides)
    return cfg


def build_model(cfg: Config, seed: int = 0):
    """Build and initialise ``cfg.model`` with a fixed seed."""
    from mmpretrain.registry import MODELS
    torch.manual_seed(seed)
    model = MODELS.build(cfg.model)
    model.init_weights()
    return model


def real_batch(cfg: Config, n: int = 8) -> dict:
    """``n`` Fashion-MNIST images through the config's train pipeline."""
    from mmpretrain.registry import DATASETS
    ds_cfg = copy.deepcopy(cfg.train_dataloader.dataset)
    ds_cfg.indices = n
    dataset = DATASETS.build(ds_cfg)
    return default_collate([dataset[i] for i in range(n)])


# --- tools in this process ---------------------------------------------------
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
