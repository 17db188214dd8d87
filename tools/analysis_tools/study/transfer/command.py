"""Dense transfer study: does pretraining make a better detector and
segmenter? The study's pretraining rows (tiny ViT and tiny ResNet-18 on
Fashion-MNIST, at ``--budget`` times the equal-FLOP study's unit) are
fine-tuned on Fashion-MNIST scenes (tools/dataset_converters/
make_fmnist_scenes.py) with the shipped downstream configs at tiny size
(configs/*/benchmarks/*_fmnist-scenes.py), then scored by box AP, mask AP
(mmdet's CocoMetric) and mIoU (mmseg's IoUMetric) on the test scenes.
Protocol and results: docs/transfer_study.md.

    nice -n 10 .venv/bin/python tools/analysis_tools/study/run.py \
        transfer --streams 2
    .venv/bin/python tools/analysis_tools/study/run.py transfer --stage plan

Pretraining runs are the study's own (run.py small-scale's rows, knobs
from its results file, same seeds, same FLOP budget rule), trained again
here because checkpoints are not kept in the repo. Checkpoints, scenes and
fine-tune work dirs live in ``--cache`` (default
``~/.cache/mmsymmim/transfer_study``), outside the checkout: a run cut short
resumes there on the next start. Results are written atomically to
``--results`` (default docs/transfer_study.json) after every run.
"""
import argparse
import json
import os.path as osp
import sys

import mmengine

from .. import jobs, paths
from . import stages as ts
from .plan import PLAN, TASKS

STUDY = paths.STUDY_RESULTS
OUT = paths.TRANSFER_RESULTS
CACHE = paths.TRANSFER_CACHE
STAGES = ('all', 'plan', 'scenes', 'pretrain', 'finetune', 'report')


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog='run.py transfer',
                                description=__doc__.split('\n\n')[0])
    p.add_argument('--stage', default='all', choices=STAGES)
    p.add_argument('--rows', nargs='+', default=list(PLAN),
                   choices=list(PLAN))
    p.add_argument('--tasks', nargs='+', default=list(TASKS),
                   choices=list(TASKS))
    p.add_argument('--seeds', nargs='+', type=int, default=[0, 1, 2])
    p.add_argument('--budget', type=float, default=3.,
                   help='pretraining FLOPs, as a multiple of the study\'s '
                   'unit (3: the budget curves\' 3x point)')
    p.add_argument('--iters', type=int, default=800,
                   help='fine-tune iterations (the scene configs\' schedule '
                   'is fitted to them)')
    p.add_argument('--streams', type=int, default=1,
                   help='runs at once: N processes of one thread each, '
                   'niced to --nice')
    p.add_argument('--nice', type=int, default=10)
    p.add_argument('--threads', type=int, default=0,
                   help="torch threads per run (0: torch's default; 1 with "
                   '--streams > 1)')
    p.add_argument('--cache', default=CACHE,
                   help='checkpoints, scenes and work dirs (kept across '
                   'checkouts)')
    p.add_argument('--study', default=STUDY,
                   help='the equal-FLOP study results (budget unit, knobs)')
    p.add_argument('--results', default=None, help=f'JSON (default {OUT})')
    p.add_argument('--smoke', action='store_true',
                   help='seconds-long plumbing check: 2-step pretraining, '
                   'a few scenes, a few fine-tune steps; numbers mean '
                   'nothing')
    p.add_argument('--job', help=argparse.SUPPRESS)  # internal: one run
    p.add_argument('--job-out', help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.streams < 1 or args.budget <= 0 or args.iters < 1:
        p.error(f'--streams and --iters must be >= 1 and --budget positive,'
                f' got {args.streams}, {args.iters} and {args.budget}')
    if args.streams > 1 and not args.threads:
        args.threads = 1
    if args.smoke and not args.job:  # a job gets its parent's cache
        args.cache = osp.join(args.cache, 'smoke')
        args.threads = args.threads or 1
    args.results = args.results or (
        osp.join(args.cache, 'results.json') if args.smoke else OUT)
    return args


def spawn(job: dict, args) -> dict:
    """One run in a fresh process (niced with --streams > 1)."""
    path = osp.join(args.cache, 'jobs', job['tag'] + '.json')
    mmengine.mkdir_or_exist(osp.dirname(path))
    cmd = [sys.executable, paths.RUN, 'transfer', '--job', json.dumps(job),
           '--job-out', path, '--cache', args.cache, '--study', args.study,
           '--results', args.results, f'--threads={args.threads}',
           f'--budget={args.budget}', f'--iters={args.iters}'] + (
               ['--smoke'] if args.smoke else [])
    return jobs.run_in_process(cmd, path, job['tag'], args.nice,
                               args.streams)


def main(argv=None):
    args = parse_args(argv)
    if args.job:
        res = ts.run_job(json.loads(args.job), args)
        mmengine.dump(res, args.job_out, indent=1)
        return res
    import mmsymmim  # noqa: F401  (atomic mmengine.dump)
    mmengine.mkdir_or_exist(args.cache)
    mmengine.mkdir_or_exist(osp.dirname(args.results))
    with jobs.results_lock(args.results,
                           args.stage not in ('report', 'plan'),
                           'transfer study'):
        study = ts.TransferStudy(args, spawn)
        study.run_stage(args.stage)
    print(study.plan_line())
    return study.results
