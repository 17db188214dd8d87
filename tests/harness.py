"""The one test harness: the tiny architecture, the tiny training run and
the in-process tool runner (``run_tool``, from tests/tool_run.py).

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
import copy
import os
import os.path as osp
import shutil
import socket
import sys
from typing import Optional, Sequence

import torch
from filelock import FileLock  # a dependency of torch
from mmengine.config import Config
from mmengine.dataset import default_collate

from .processes import end_group, popen, run  # noqa: F401  (for the tests)
from .tool_run import (  # noqa: F401  (for the tests)
    FRESH_THREADS,
    REPO,
    ToolRun,
    run_tool,
    tool_process_state,
)

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
