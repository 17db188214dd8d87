"""Training one run of the equal-compute study: the row's config, the
schedule rule every row trains with, and the training itself for the FLOP
budget (or the wall-clock one), resumed from its last checkpoint after an
interruption."""
import copy
import gc
import os.path as osp
import shutil

import mmengine

from . import flops as sf
from .clock import RunClock, resumed_at
from .rows import row_config


def train_config(row: str, knobs: dict, seed: int, smoke: bool):
    """The row's pretraining config at ``knobs`` and ``seed``; ``smoke``
    shrinks its loader (batch 16, 2,000 images, queue 64)."""
    cfg = row_config(row, knobs)
    cfg.randomness = dict(seed=seed)
    if smoke:
        cfg.train_dataloader.update(batch_size=16, num_workers=0,
                                    persistent_workers=False)
        cfg.train_dataloader.dataset.indices = 2000
        if 'queue_len' in cfg.model:
            cfg.model.queue_len = 64
    return cfg


def fit_schedule(cfg, iters: int) -> None:
    """Linear warm-up over 10 % of ``iters`` (from 1e-3 of the lr up to the
    full lr, reached at the warm-up's last step), then cosine to 0: one
    schedule rule for every row, fitted to the iterations the budget
    allows. (mmengine's LinearLR reaches its end factor only at ``end``,
    hence ``end = warm + 1``: with ``end = warm`` a 1-step warm-up would
    leave the lr at 1e-3 of its value for the whole run.)"""
    warm = max(1, iters // 10)
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=iters)
    cfg.param_scheduler = [
        dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0,
             end=warm + 1),
        dict(type='CosineAnnealingLR', T_max=max(1, iters - warm - 1),
             by_epoch=False, begin=warm + 1, end=max(iters, warm + 2)),
    ]


# a run writes a checkpoint every CKPT_EVERY iterations (one kept) and, when
# interrupted, resumes from it (mmengine's resume: model, EMA, optimiser,
# schedule, data order): a 10x run outlives the session that started it
CKPT_EVERY = 200


def _train(cfg, work_dir: str, name: str, iters: int) -> dict:
    """Train ``iters`` iterations, resuming from the work dir's last
    checkpoint if an earlier attempt was interrupted; the run's clock
    (:class:`RunClock`: wall and CPU seconds over its attempts)."""
    from mmengine.runner import Runner
    cfg = copy.deepcopy(cfg)
    fit_schedule(cfg, iters)
    cfg.work_dir, cfg.experiment_name = work_dir, name
    cfg.default_hooks.logger.interval = 50
    cfg.default_hooks.checkpoint.update(
        interval=min(iters, CKPT_EVERY), max_keep_ckpts=1, save_last=True)
    cfg.resume, cfg.load_from = True, None  # the work dir's last checkpoint
    cfg.custom_hooks = [*cfg.get('custom_hooks', []),
                        dict(type='RNGStateHook')]  # on-device draws too
    runner = Runner.from_cfg(cfg)
    clock = RunClock()
    runner.register_hook(clock)
    runner.train()
    del runner
    gc.collect()  # ends the loader's persistent workers before the next run
    return clock.reading()


def train(job: dict, args) -> dict:
    """Train a job's row for the budget; what the record keeps of it. A
    finished training (its last checkpoint and ``train.json`` on disk) is
    not repeated; an interrupted one resumes."""
    from mmsymmim.datasets import check_train_data
    cfg = train_config(job['row'], job['knobs'], job['seed'], args.smoke)
    check_train_data(cfg)
    work = osp.join(args.work_dir, job['tag'])
    flops = sf.step_flops(cfg, seed=job['seed'])
    if job['knobs'].get('steps'):  # fixed iterations (off the budget)
        iters = job['knobs']['steps']
        if not isinstance(iters, int) or iters < 1:
            raise ValueError(f"knob 'steps' must be a positive int, got "
                             f'{iters!r}')
    elif args.budget_s is None:
        iters = max(1, int(job['budget_flops'] // flops))
    else:  # wall clock: calibrate s/iter in this process, afresh
        cal = 2 if args.smoke else 12
        shutil.rmtree(osp.join(work, 'calib'), ignore_errors=True)
        s_iter = _train(cfg, osp.join(work, 'calib'), 'calib',
                        cal)['wall_s'] / cal
        iters = max(2, int(args.budget_s / s_iter))
    ckpt, done = (osp.join(work, f'iter_{iters}.pth'),
                  osp.join(work, 'train.json'))
    if osp.isfile(ckpt) and osp.isfile(done):
        return mmengine.load(done)
    started_at = resumed_at(work)
    clock = _train(cfg, work, job['tag'], iters)
    rec = dict(iters=iters, flops_per_step=flops, train_flops=flops * iters,
               train_s=round(clock['wall_s'], 1),
               train_cpu_s=round(clock['cpu_s'], 1),
               s_per_iter=round(clock['wall_s']
                                / max(1, iters - clock['since']), 4),
               checkpoint=ckpt,
               timed_since=clock['since'])  # > 0: seconds from there on only
    if started_at:
        rec['resumed_at'] = started_at
    mmengine.dump(rec, done, indent=1)
    return rec
