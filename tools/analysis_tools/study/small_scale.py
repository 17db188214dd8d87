"""Small-scale study at equal training compute: SymMIM (symmetric, asymmetric,
random mask, mask-token path), MAE, MoCo v3, MoCo v2 vs MixMask, random init
and raw pixels on Fashion-MNIST, scored by k-NN, linear probe and 1 %-label
fine-tuning. Protocol and results: docs/small_scale_study.md.

    .venv/bin/python tools/analysis_tools/study/run.py small-scale   # all
    .venv/bin/python tools/analysis_tools/study/run.py small-scale \
        --stage tune
    # the budget curves (3x, 10x), two niced single-thread streams
    nice -n 10 .venv/bin/python tools/analysis_tools/study/run.py \
        small-scale --stage curves --budgets 1 3 10 --streams 2
    # the mask-ratio axis (1x, then 3x best / worst), one niced stream
    nice -n 10 .venv/bin/python tools/analysis_tools/study/run.py \
        small-scale --stage ratios --budgets 1 3 --threads 1

Budget. Every trained run gets the same training FLOPs: ``--budget-steps``
(default 200) steps of ``symmim-visible`` (the symmetric SymMIM step: 200 of
them are the FLOPs of the demo's 400 one-order steps), counted by
``flops.step_flops`` (one real training step of the row's own config
under ``FlopCounterMode``); a row trains ``budget // its FLOPs per step``
iterations, with one schedule rule (10 % warm-up, cosine). No timing enters
it, so runs may go on a busy machine (niced) and resume after interruption.
``--budget-s`` instead gives each row the same wall clock (calibrated s/iter;
idle machines and GPUs only).

Stages (``--stage all`` runs them in this order; each skips what the JSON
holds): ``tune`` (ViT rows, lr x 0.5 / 1 / 2, seed 0, validation split),
``diagnose`` (why SymMIM does / does not help fine-tuning: seed 0 variants
scored by the validation fine-tune), ``resnet-recipe`` (a MoCo v2 recipe
that beats the random ResNet), ``tune`` again (now the ResNet rows), then
``seeds`` (every row at its chosen lr, test split, seed by seed: all rows of
seed 0 first, so a stopped study still holds one whole table), ``curves``
(the same protocol at 3x and 10x the budget: curves.py), ``ratios``
(the mask-ratio axis of MAE and the random-mask SymMIM row at 1x, then
each one's best and worst ratio at 3x: ratio.py). ``timing``
measures s/iter per row, rows in turns (run it on an idle machine).
A run is trained once and evaluated as the stages ask (its checkpoint stays
in the work dir); the JSON is written atomically after every run. A run
interrupted mid-way (a session's end) resumes from its last checkpoint
(every 200 iterations) when the study is started again.
"""
import argparse
import json
import os.path as osp
import sys

import mmengine

from . import jobs, paths
from . import rows as sr
from . import stages as st
from .report import report_tables

OUT = paths.STUDY_RESULTS
STAGES = ('all', 'tune', 'diagnose', 'seeds', 'resnet-recipe', 'curves',
          'ratios', 'timing', 'report')
# every row tuned before any is seeded; the ResNet rows are tuned once the
# recipe search has found a MoCo v2 recipe
ALL = ('tune', 'diagnose', 'resnet-recipe', 'tune', 'seeds', 'curves')


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog='run.py small-scale',
                                description=__doc__.split('\n\n')[0])
    p.add_argument('--stage', default='all', choices=STAGES)
    p.add_argument('--rows', nargs='+', default=list(sr.ROWS), choices=sr.ROWS)
    p.add_argument('--seeds', nargs='+', type=int, default=[0, 1, 2])
    p.add_argument('--budget-steps', type=float, default=200.,
                   help='training FLOPs per run, in steps of symmim-visible '
                   '(symmetric SymMIM; 200 = the demo\'s 400 steps)')
    p.add_argument('--budgets', nargs='+', type=float, default=[1., 3., 10.],
                   help='--stage curves: the budgets to run, as multiples of '
                   '--budget-steps (curves.PLAN says which rows and '
                   'seeds each has)')
    p.add_argument('--streams', type=int, default=1,
                   help='runs at once (--stage seeds / curves): N processes '
                   'of one thread each, niced to --nice; results merged into '
                   'the one JSON')
    p.add_argument('--nice', type=int, default=10,
                   help='niceness of the runs with --streams > 1')
    p.add_argument('--budget-s', type=float, default=None,
                   help='equal wall clock instead of equal FLOPs (idle '
                   'machines, GPUs)')
    p.add_argument('--bank', type=int, default=20000,
                   help='train images the k-NN bank and linear probe use')
    p.add_argument('--ft-per-class', type=int, default=60)
    p.add_argument('--ft-epochs', type=int, default=30)
    p.add_argument('--ft-subset-seed', type=int, default=0)
    p.add_argument('--linear-epochs', type=int, default=300)
    p.add_argument('--linear-lr', type=float, default=0.03)
    p.add_argument('--threads', type=int, default=0,
                   help="torch threads per run (0: torch's default)")
    p.add_argument('--smoke', action='store_true',
                   help='seconds-long plumbing check: 3-step budget, batch '
                   '16, 600 bank / 300 query images, 10 labels a class, 1 '
                   'fine-tune epoch, 1 thread; its numbers mean nothing')
    p.add_argument('--work-dir', default=None)
    p.add_argument('--results', default=None, help=f'JSON (default {OUT})')
    p.add_argument('--job', help=argparse.SUPPRESS)  # internal: one run
    p.add_argument('--job-out', help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.smoke:
        args.budget_steps, args.ft_per_class, args.ft_epochs = 3., 10, 1
        args.threads, args.bank = 1, 600
    if args.budget_steps <= 0 or (args.budget_s is not None
                                  and args.budget_s <= 0):
        p.error('--budget-steps and --budget-s must be positive')
    if args.streams < 1 or min(args.budgets) <= 0:
        p.error(f'--streams must be >= 1 and --budgets positive, got '
                f'{args.streams} and {args.budgets}')
    if args.streams > 1 and not args.threads:
        args.threads = 1  # N streams of one thread each
    args.work_dir = args.work_dir or osp.join(
        paths.REPO, paths.SMOKE_WORK if args.smoke else paths.STUDY_WORK)
    args.results = args.results or (
        osp.join(args.work_dir, 'results.json') if args.smoke else OUT)
    return args


def protocol(args) -> dict:
    """What makes two runs comparable (a results file holds one)."""
    keys = ('budget_steps', 'budget_s', 'bank', 'ft_per_class', 'ft_epochs',
            'ft_subset_seed', 'linear_epochs', 'linear_lr', 'smoke')
    return {k: getattr(args, k) for k in keys}


def job_flags(args) -> list:
    flags = [f'--{k.replace("_", "-")}={v}' for k, v in protocol(args).items()
             if k != 'smoke' and v is not None]
    return flags + [f'--threads={args.threads}'] + (
        ['--smoke'] if args.smoke else [])


def spawn(job: dict, args) -> dict:
    """One run (training if needed, then its evaluations) in a fresh
    process: no state leaks between rows."""
    path = osp.join(args.work_dir, job['tag'], 'result.json')
    cmd = [sys.executable, paths.RUN, 'small-scale', '--job', json.dumps(job),
           '--job-out', path, '--work-dir', args.work_dir, '--results',
           args.results, *job_flags(args)]
    return jobs.run_in_process(cmd, path, job['tag'], args.nice,
                               args.streams)


def load_results(args) -> dict:
    results = dict(protocol=protocol(args), runs=[])
    if osp.exists(args.results):
        results = mmengine.load(args.results)
        if results['protocol'] != protocol(args):
            raise SystemExit(
                f'{args.results} holds runs of another protocol '
                f'{results["protocol"]}; pass another --results')
    return results


def main(argv=None):
    args = parse_args(argv)
    if args.job:
        res = st.run_job(json.loads(args.job), args)
        mmengine.dump(res, args.job_out, indent=1)
        return res
    import mmsymmim  # noqa: F401  (atomic mmengine.dump)
    mmengine.mkdir_or_exist(args.work_dir)
    # the report only reads: it may run beside a writing study
    with jobs.results_lock(args.results, args.stage != 'report',
                           'study process'):
        results = load_results(args)
        study = st.Study(results, args, spawn)
        stages = ALL if args.stage == 'all' else [args.stage]
        for stage in stages:
            study.run_stage(stage)
    print(report_tables(results, args.rows))
    return results
