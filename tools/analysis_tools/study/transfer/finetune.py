"""One fine-tune of the transfer study (run.py transfer): a scene config
trained from a pretraining checkpoint (or from its random init) for the
study's iterations, then scored on the test scenes. Runs in its own process;
resumes from its work dir's last checkpoint when an attempt was cut."""
import copy
import gc
import os.path as osp

from mmengine.config import Config

from .. import paths
from ..clock import RunClock, resumed_at


def fit_schedule(cfg, iters: int) -> None:
    """The config's own schedule rule at ``iters`` iterations: warm-up over
    10 %, then its decay (step points or poly) at the same fractions."""
    old = cfg.train_cfg.max_iters
    cfg.train_cfg.max_iters = iters
    cfg.train_cfg.val_interval = iters + 1  # scored once, on test, after
    scale = iters / old
    for s in cfg.param_scheduler:
        for key in ('begin', 'end'):
            if key in s:
                s[key] = max(1, round(s[key] * scale)) if s[key] else 0
        if 'milestones' in s:
            s['milestones'] = [max(1, round(m * scale))
                               for m in s['milestones']]
    cfg.default_hooks.checkpoint.interval = min(iters, 200)


def scene_config(job: dict, scenes: str, work_dir: str, ckpt) -> Config:
    """The job's scene config on ``scenes``, seeded, from ``ckpt`` (None:
    the backbone's own random init), loading the tensors under the job's
    ``prefix`` where it names one (else the config's)."""
    cfg = Config.fromfile(osp.join(paths.REPO, job['config']))
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[key].dataset.data_root = scenes
        cfg[key].num_workers = 0
        cfg[key].persistent_workers = False
    for key in ('val_evaluator', 'test_evaluator'):
        if 'ann_file' in cfg[key]:
            split = 'val' if key.startswith('val') else 'test'
            cfg[key].ann_file = osp.join(
                scenes, f'annotations/instances_{split}.json')
    if ckpt is None:
        cfg.model.backbone.init_cfg = None
    else:
        cfg.model.backbone.init_cfg.checkpoint = ckpt
        if job.get('prefix'):
            cfg.model.backbone.init_cfg.prefix = job['prefix']
    fit_schedule(cfg, job['iters'])
    cfg.randomness = dict(seed=job['seed'])
    cfg.work_dir = work_dir
    cfg.resume, cfg.load_from = True, None  # the work dir's last checkpoint
    cfg.default_hooks.logger.interval = 50
    cfg.default_hooks.pop('visualization', None)
    return cfg


def finetune(job: dict, args) -> dict:
    """Train, test; the record: metrics in %, iterations, clock."""
    from mmengine.runner import Runner
    scenes = osp.join(args.cache, 'scenes')
    work = osp.join(args.cache, 'finetune', job['tag'])
    ckpt = job.get('checkpoint')
    cfg = scene_config(job, scenes, work,
                       ckpt and osp.join(args.cache, ckpt))
    started_at = resumed_at(work)
    runner = Runner.from_cfg(copy.deepcopy(cfg))
    clock = RunClock()
    runner.register_hook(clock)
    runner.train()
    train = clock.reading()
    metrics = runner.test()
    del runner
    gc.collect()
    rec = dict(job, metrics={k: round(float(v) * (100 if 'coco' in k else 1),
                                      2) for k, v in metrics.items()},
               train_s=round(train['wall_s'], 1),
               train_cpu_s=round(train['cpu_s'], 1),
               timed_since=train['since'])
    if started_at:
        rec['resumed_at'] = started_at
    return rec
