"""Training FLOPs of one step of a pretraining config, the study's unit of
budget (run.py small-scale).

:func:`step_flops` builds the config's model, optimiser wrapper and train
loader, takes one collated batch of the row's own pipeline and runs one real
``train_step`` (data preprocessor, forward, backward, optimiser step, EMA
update) under torch's ``FlopCounterMode``. What it counts: the matrix
products and convolutions (forward and backward, attention included);
element-wise work (norms, activations, the optimiser's and the EMA's updates)
is not counted, as in the usual FLOP figures of papers. No timing enters it,
so the same config gives the same count on a busy and an idle machine.

    .venv/bin/python tools/analysis_tools/study/run.py flops \
        symmim-visible mae
"""
import argparse
import copy
import statistics
import time

import torch

from . import rows as sr


def one_batch(cfg):
    """One collated batch of ``cfg.train_dataloader`` (main process)."""
    from mmengine.runner import Runner
    loader_cfg = copy.deepcopy(cfg.train_dataloader)
    loader_cfg.update(num_workers=0, persistent_workers=False)
    loader = Runner.build_dataloader(loader_cfg, seed=0)
    return next(iter(loader))


def step_flops(cfg, seed: int = 0) -> int:
    """Total FLOPs (multiply and add counted apart) of one training step of
    ``cfg`` on one batch of its own pipeline."""
    from mmengine.logging import MMLogger
    from torch.utils.flop_counter import FlopCounterMode
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel('ERROR')  # the optimiser's per-parameter notes
    try:
        with torch.random.fork_rng(devices=[]):
            model, optim, batch = _built(cfg, seed)
            counter = FlopCounterMode(display=False)
            with counter:
                model.train_step(batch, optim)
    finally:
        logger.setLevel(level)
    return int(counter.get_total_flops())


def _built(cfg, seed: int = 0):
    """Model, optimiser wrapper and one batch of ``cfg``."""
    from mmengine.logging import MessageHub
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import init_default_scope

    import mmsymmim  # noqa: F401  (registers the project's modules)
    from mmpretrain.registry import MODELS
    init_default_scope('mmpretrain')
    hub = MessageHub.get_current_instance()  # EMA schedules read these
    hub.update_info('iter', 0)
    hub.update_info('max_iters', cfg.train_cfg.get('max_iters', 200))
    torch.manual_seed(seed)
    batch = one_batch(cfg)
    model = MODELS.build(copy.deepcopy(cfg.model))
    model.init_weights()
    model.train()
    return model, build_optim_wrapper(model, copy.deepcopy(
        cfg.optim_wrapper)), batch


def time_rows(cfgs: dict, rounds: int = 3, steps: int = 5,
              warmup: int = 2) -> dict:
    """Seconds per training step of each config (one batch reused, so no
    data loading), measured in turns: ``rounds`` times, every config runs
    ``steps`` timed steps after ``warmup`` untimed ones; the median of the
    rounds. Timed in turns so a change in the machine's speed hits every
    row alike. Run on an idle machine."""
    built = {name: _built(cfg) for name, cfg in cfgs.items()}
    seen = {name: [] for name in cfgs}
    for _ in range(rounds):
        for name, (model, optim, batch) in built.items():
            for _ in range(warmup):
                model.train_step(batch, optim)
            t0 = time.perf_counter()
            for _ in range(steps):
                model.train_step(batch, optim)
            seen[name].append((time.perf_counter() - t0) / steps)
    return {name: dict(s_per_iter=round(statistics.median(v), 4),
                       rounds=[round(x, 4) for x in v])
            for name, v in seen.items()}


def row_step_flops(row: str, knobs: dict = None) -> int:
    """:func:`step_flops` of a study row's config with ``knobs``."""
    return step_flops(sr.row_config(row, knobs))


def main(argv=None):
    p = argparse.ArgumentParser(prog='run.py flops',
                                description=__doc__.split('\n\n')[0])
    p.add_argument('rows', nargs='+', choices=[r for r, s in sr.ROWS.items()
                                               if s.train])
    p.add_argument('--time', action='store_true',
                   help='also time each step, rows in turns (idle machine)')
    args = p.parse_args(argv)
    base = row_step_flops('symmim-visible')
    flops = {r: base if r == 'symmim-visible' else row_step_flops(r)
             for r in args.rows}
    times = time_rows({r: sr.row_config(r) for r in args.rows}) \
        if args.time else {}
    print('| row | GFLOP / step | x symmim-visible | iterations at 200 '
          'demo steps |' + (' s / step | GFLOP/s | s at the budget |'
                            if times else ''))
    print('|---' * (7 if times else 4) + '|')
    for row, f in flops.items():
        line = (f'| {row} | {f / 1e9:.2f} | {f / base:.2f} '
                f'| {200 * base // f} |')
        if times:
            t = times[row]['s_per_iter']
            line += (f' {t:.3f} | {f / 1e9 / t:.1f} | '
                     f'{t * (200 * base // f):.0f} |')
        print(line)
