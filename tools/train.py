"""Train with an mmsymmim / mmpretrain config (mmpretrain's flags).

    python tools/train.py \
        configs/symmim/symmim_vit-base-p16_16xb256-amp-coslr-600e_in1k.py \
        --work-dir work_dirs/x --amp
"""
import argparse
import os
import os.path as osp

from mmengine.config import Config, DictAction
from mmengine.model import is_model_wrapper
from mmengine.runner import Runner


def parse_args():
    parser = argparse.ArgumentParser(description='Train a model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from the given checkpoint, or, without a value, from '
        'the latest checkpoint in the work dir')
    parser.add_argument(
        '--amp', action='store_true', help='enable automatic mixed precision')
    parser.add_argument(
        '--no-validate',
        action='store_true',
        help='skip validation during training')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale the lr by the actual batch size (config auto_scale_lr)')
    parser.add_argument(
        '--no-pin-memory',
        action='store_true',
        help='disable pin_memory in dataloaders')
    parser.add_argument(
        '--no-persistent-workers',
        action='store_true',
        help='disable persistent_workers in dataloaders')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, xxx=yyy format, e.g. '
        'model.backbone.arch=small train_cfg.max_iters=10')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    # torch < 2 passes --local-rank, older launchers --local_rank
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def merge_args(cfg: Config, args) -> Config:
    """Apply command-line flags to the config."""
    cfg.launcher = args.launcher
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])

    if args.amp:
        wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
        if wrapper not in ('OptimWrapper', 'AmpOptimWrapper'):
            raise ValueError(f'--amp needs optim_wrapper.type OptimWrapper or '
                             f'AmpOptimWrapper, the config has {wrapper!r}')
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')

    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume

    if args.no_validate:
        cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    if args.auto_scale_lr:
        cfg.auto_scale_lr.enable = True

    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg.get(name)
        if loader is None:
            continue
        if args.no_pin_memory:
            loader['pin_memory'] = False
        if args.no_persistent_workers:
            loader['persistent_workers'] = False
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    return cfg


def main():
    args = parse_args()
    cfg = merge_args(Config.fromfile(args.config), args)
    import mmsymmim  # noqa: F401  registers modules and the compat fixes
    from mmsymmim.datasets import check_train_data
    from mmsymmim.engine.hooks.checkpoint_hook import CheckpointNoSpaceError
    from mmsymmim.engine.hooks.rng_state_hook import ResumeWorldSizeError
    from mmsymmim.engine.optim_checks import check_optim_schedule
    from mmsymmim.models.utils.batch_limits import check_batch_size
    try:  # a bad lr, weight decay, warm-up, max_iters...: one line, exit
        check_optim_schedule(cfg)
    except ValueError as err:
        raise SystemExit(str(err))
    check_train_data(cfg)  # missing / empty / unreadable data: one line, exit
    runner = Runner.from_cfg(cfg)
    try:  # a batch the model cannot train on: one line, before the 1st step
        model = runner.model
        check_batch_size(model.module if is_model_wrapper(model) else model,
                         cfg.train_dataloader.batch_size, runner.world_size)
    except ValueError as err:
        raise SystemExit(str(err))
    try:
        runner.train()
    except CheckpointNoSpaceError as err:  # traceback logged; what to free
        raise SystemExit(str(err))
    except ResumeWorldSizeError as err:  # before the first resumed step
        raise SystemExit(str(err))


if __name__ == '__main__':
    main()
