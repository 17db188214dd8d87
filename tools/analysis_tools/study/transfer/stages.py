"""The transfer study's runs (run.py transfer): which checkpoints are
pretrained, which fine-tunes each gets, and one job of either kind."""
import os.path as osp
import sys
import threading
from argparse import Namespace
from concurrent.futures import ThreadPoolExecutor, as_completed

import mmengine

from .. import paths, training
from ..choice import chosen_knobs
from ..knobs import clean, knob_tag
from . import report as tr
from .finetune import finetune
from .plan import PLAN, TASKS, pretrained, source


class TransferStudy:
    """The stages over the results ``{protocol, pretrain: [], runs: []}``
    (written after every job)."""

    def __init__(self, args, spawn) -> None:
        self.args, self.spawn = args, spawn
        self.study = mmengine.load(args.study)
        self.lock = threading.Lock()
        self.results = dict(protocol=self.protocol(), pretrain=[], runs=[])
        if osp.exists(args.results):
            self.results = mmengine.load(args.results)
            if self.results['protocol'] != self.protocol():
                raise SystemExit(
                    f'{args.results} holds runs of another protocol '
                    f'{self.results["protocol"]}; pass another --results')

    def protocol(self) -> dict:
        return dict(budget=self.args.budget, iters=self.args.iters,
                    smoke=self.args.smoke)

    # ------------------------------------------------------------ plan
    def pairs(self):
        """(row, seed) in the plan's order: seed by seed, the three-seed
        rows (ViT, then ResNet: the issue's order), so every row has seed
        0 before any has seed 1; then the single-seed rows (a row reading
        another's checkpoint runs with its source: see ``units``)."""
        rows = [r for r in self.args.rows if len(PLAN[r].seeds) > 1]
        rows = ([r for r in rows if PLAN[r].family == 'vit']
                + [r for r in rows if PLAN[r].family == 'resnet'])
        single = [r for r in self.args.rows if len(PLAN[r].seeds) == 1]
        return ([(r, s) for s in self.args.seeds for r in rows
                 if s in PLAN[r].seeds]
                + [(r, s) for s in self.args.seeds for r in single
                   if s in PLAN[r].seeds])

    def pretrain_job(self, row: str, seed: int):
        """The job that pretrains ``row`` (its source) at ``seed`` (None:
        not needed or already held)."""
        if not pretrained(row):
            return None
        row = source(row)
        knobs = self.knobs(row)
        tag = self.pretrain_tag(row, seed)
        if self.find('pretrain', tag) is not None:
            return None
        flops = 1 if self.args.smoke else int(
            self.study['budget_flops'] * self.args.budget)
        return dict(kind='pretrain', row=row, seed=seed, knobs=knobs, tag=tag,
                    budget_flops=flops)

    def knobs(self, row: str) -> dict:
        """The row's (source's) knobs as the equal-FLOP study chose them."""
        return clean(chosen_knobs(self.study, source(row)))

    def pretrain_tag(self, row: str, seed: int) -> str:
        """The study's name for the run of ``row``'s source (its work dir
        in the cache)."""
        return (f'{source(row)}_s{seed}_'
                + knob_tag(self.knobs(row)).replace(',', '_')
                + f'_x{self.args.budget:g}')

    def find(self, where: str, tag: str):
        return next((r for r in self.results[where] if r['tag'] == tag),
                    None)

    def finetune_job(self, row: str, seed: int, task: str):
        """The job that fine-tunes ``row``'s seed-``seed`` checkpoint (or
        its random init) on ``task``; None if the results hold it."""
        tag = f'{task}_{row}_s{seed}'
        if self.find('runs', tag) is not None:
            return None
        fam = PLAN[row].family
        job = dict(kind='finetune', row=row, seed=seed, task=task, tag=tag,
                   family=fam, config=TASKS[task][fam],
                   iters=2 if self.args.smoke else self.args.iters)
        if PLAN[row].prefix:
            job['prefix'] = PLAN[row].prefix
        return job

    def plan_line(self) -> str:
        want = {self.pretrain_tag(r, s) for r, s in self.pairs()
                if pretrained(r)}  # a row reading another's: not again
        done = sum(self.find('pretrain', tag) is not None for tag in want)
        n_ft = len(self.pairs()) * len(self.args.tasks)
        ft = sum(self.finetune_job(r, s, t) is None for r, s in self.pairs()
                 for t in self.args.tasks)
        return (f'transfer study: {done}/{len(want)} pretraining runs, '
                f'{ft}/{n_ft} fine-tunes in {self.args.results}')

    # ------------------------------------------------------------ runs
    def merge(self, where: str, res: dict) -> None:
        with self.lock:
            self.results[where] = [r for r in self.results[where]
                                   if r['tag'] != res['tag']] + [res]
            print(f'{res["tag"]}: done', flush=True)
            mmengine.dump(self.results, self.args.results, indent=1)

    def units(self, want_pre: bool, want_ft: bool) -> list:
        """``(row, seed, jobs)`` in the plan's order. A row that reads
        another's checkpoint joins its source's unit of that seed where the
        plan runs it (one stream: no second pretraining of one checkpoint,
        and its fine-tunes start as soon as that checkpoint is there)."""
        units = {(r, s): [j for j in (
            [self.pretrain_job(r, s)] * want_pre
            + [self.finetune_job(r, s, t) for t in self.args.tasks
               if want_ft]) if j is not None] for r, s in self.pairs()}
        for (r, s), jobs in list(units.items()):
            if source(r) != r and (source(r), s) in units:
                units[source(r), s] += [j for j in jobs
                                        if j['kind'] == 'finetune']
                del units[r, s]
        return [(r, s, jobs) for (r, s), jobs in units.items()]

    def run_unit(self, unit) -> None:
        """One (row, seed): pretrain if needed, then each fine-tune, in
        this process's turn (a fine-tune waits for its checkpoint)."""
        row, seed, jobs = unit
        for job in jobs:
            if job['kind'] == 'finetune' and pretrained(row):
                pre = self.find('pretrain', self.pretrain_tag(row, seed))
                job = dict(job, checkpoint=pre['checkpoint'])
            self.merge('pretrain' if job['kind'] == 'pretrain' else 'runs',
                       self.spawn(job, self.args))

    def run_units(self, units) -> None:
        """Units one after another, or on ``--streams`` N at once (a failed
        one is reported after the others finish)."""
        units = [u for u in units if u[2]]
        if self.args.streams <= 1:
            for u in units:
                self.run_unit(u)
            return
        failed = []
        with ThreadPoolExecutor(self.args.streams) as pool:
            futures = {pool.submit(self.run_unit, u): u for u in units}
            for fut in as_completed(futures):
                try:
                    fut.result()
                except Exception as e:  # noqa: BLE001  (others go on)
                    failed.append(f'{futures[fut][:2]}: {e}')
        if failed:
            raise RuntimeError('failed runs:\n' + '\n'.join(failed))

    # ---------------------------------------------------------- stages
    def run_stage(self, stage: str) -> None:
        if stage in ('all', 'scenes'):
            self.stage_scenes()
        if stage == 'report':
            tr.write_report(self.results)
        elif stage != 'plan' and stage != 'scenes':
            self.run_units(self.units(stage in ('all', 'pretrain'),
                                      stage in ('all', 'finetune')))

    def stage_scenes(self) -> None:
        """The scenes in the cache (made once; the maker is deterministic)."""
        root = osp.join(self.args.cache, 'scenes')
        if osp.isfile(osp.join(root, 'meta.json')):
            return
        sys.path.insert(0, osp.join(paths.REPO, 'tools/dataset_converters'))
        import make_fmnist_scenes as mfs
        small = ['--train', '16', '--val', '8', '--test', '8']
        mfs.main(['--out', root] + (small if self.args.smoke else []))


def run_job(job: dict, args) -> dict:
    """One job in this process."""
    import torch

    import mmsymmim  # noqa: F401  (registers modules, compat fixes)
    if args.threads:
        torch.set_num_threads(args.threads)
    if job['kind'] == 'pretrain':
        return pretrain(job, args)
    if job['kind'] == 'finetune':
        return finetune(job, args)
    raise ValueError(f"job kind {job['kind']!r} not in ('pretrain', "
                     "'finetune')")


def pretrain(job: dict, args) -> dict:
    """The study's training of a row (training.train: same config,
    knobs, seed and FLOP rule), its checkpoint kept in the cache."""
    from mmengine.registry import init_default_scope
    init_default_scope('mmpretrain')
    ns = Namespace(smoke=args.smoke, budget_s=None,
                   work_dir=osp.join(args.cache, 'pretrain'))
    rec = training.train(job, ns)
    rec['checkpoint'] = osp.relpath(rec['checkpoint'], args.cache)
    return dict(job, **rec)
