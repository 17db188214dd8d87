"""The transfer study's runs (transfer_study.py): which checkpoints are
pretrained, which fine-tunes each gets, and one job of either kind."""
import os.path as osp
import threading
from argparse import Namespace
from collections import namedtuple
from concurrent.futures import ThreadPoolExecutor, as_completed

import mmengine

import study_rows as sr

# row of small_scale_study.py -> label, encoder family, the seeds it runs
Plan = namedtuple('Plan', 'label family seeds')
PLAN = {
    'symmim-asymmetric': Plan('SymMIM default', 'vit', (0, 1, 2)),
    'mae': Plan('MAE', 'vit', (0, 1, 2)),
    'random-init': Plan('random init (ViT)', 'vit', (0, 1, 2)),
    'mixmask-mocov2': Plan('MixMask-MoCo v2', 'resnet', (0, 1, 2)),
    'mocov2': Plan('MoCo v2', 'resnet', (0, 1, 2)),
    'random-init-resnet': Plan('random init (ResNet)', 'resnet', (0, 1, 2)),
    'symmim-random-asym': Plan('SymMIM, random 50 % mask', 'vit', (0, )),
    'mocov3': Plan('MoCo v3', 'vit', (0, )),
}
# task -> scene config per encoder family
TASKS = {
    'det': {
        'vit': 'configs/symmim/benchmarks/'
        'mask-rcnn_vit-tiny-p4_simple-fpn_1xb8-800i_fmnist-scenes.py',
        'resnet': 'configs/mixmask/benchmarks/'
        'mask-rcnn_resnet18-tiny_fpn_1xb8-800i_fmnist-scenes.py',
    },
    'seg': {
        'vit': 'configs/symmim/benchmarks/'
        'upernet_vit-tiny-p4_1xb8-800i_fmnist-scenes.py',
        'resnet': 'configs/mixmask/benchmarks/'
        'fcn_resnet18-tiny_1xb8-800i_fmnist-scenes.py',
    },
}


def pretrained(row: str) -> bool:
    return sr.ROWS[row].train


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
        return dict(budget=self.args.budget, smoke=self.args.smoke)

    # ------------------------------------------------------------ plan
    def pairs(self):
        """(row, seed) of the plan in its order: seed 0 of the ViT rows
        first, then the ResNet rows, then the other seeds."""
        out = []
        for seed in self.args.seeds:
            for fam in ('vit', 'resnet'):
                out += [(r, seed) for r in self.args.rows
                        if PLAN[r].family == fam and seed in PLAN[r].seeds]
        return out

    def pretrain_job(self, row: str, seed: int):
        """The job that pretrains ``row`` at ``seed`` (None: not needed or
        already held)."""
        if not pretrained(row):
            return None
        knobs = sr.clean(sr.chosen_knobs(self.study, row))
        tag = (f'{row}_s{seed}_' + sr.knob_tag(knobs).replace(',', '_')
               + f'_x{self.args.budget:g}')
        if self.find('pretrain', tag) is not None:
            return None
        flops = 1 if self.args.smoke else int(
            self.study['budget_flops'] * self.args.budget)
        return dict(kind='pretrain', row=row, seed=seed, knobs=knobs, tag=tag,
                    budget_flops=flops)

    def find(self, where: str, tag: str):
        return next((r for r in self.results[where] if r['tag'] == tag),
                    None)

    def plan_line(self) -> str:
        want = [(r, s) for r, s in self.pairs() if pretrained(r)]
        done = sum(self.pretrain_job(r, s) is None for r, s in want)
        return (f'transfer study: {done}/{len(want)} pretraining runs, '
                f'{len(self.results["runs"])} fine-tunes in '
                f'{self.args.results}')

    # ------------------------------------------------------------ runs
    def merge(self, where: str, res: dict) -> None:
        with self.lock:
            self.results[where] = [r for r in self.results[where]
                                   if r['tag'] != res['tag']] + [res]
            print(f'{res["tag"]}: done', flush=True)
            mmengine.dump(self.results, self.args.results, indent=1)

    def run_many(self, jobs, where: str) -> None:
        jobs = [j for j in jobs if j is not None]
        if self.args.streams <= 1:
            for j in jobs:
                self.merge(where, self.spawn(j, self.args))
            return
        failed = []
        with ThreadPoolExecutor(self.args.streams) as pool:
            futures = {pool.submit(self.spawn, j, self.args): j for j in jobs}
            for fut in as_completed(futures):
                try:
                    self.merge(where, fut.result())
                except Exception as e:  # noqa: BLE001  (others go on)
                    failed.append(f'{futures[fut]["tag"]}: {e}')
        if failed:
            raise RuntimeError('failed runs:\n' + '\n'.join(failed))

    # ---------------------------------------------------------- stages
    def run_stage(self, stage: str) -> None:
        stages = ('pretrain', ) if stage == 'all' else (stage, )
        for s in stages:
            if s != 'plan':
                getattr(self, 'stage_' + s)()

    def stage_pretrain(self) -> None:
        self.run_many([self.pretrain_job(r, s) for r, s in self.pairs()],
                      'pretrain')


def run_job(job: dict, args) -> dict:
    """One job in this process."""
    import torch

    import mmsymmim  # noqa: F401  (registers modules, compat fixes)
    if args.threads:
        torch.set_num_threads(args.threads)
    if job['kind'] == 'pretrain':
        return pretrain(job, args)
    raise ValueError(f"job kind {job['kind']!r} not in ('pretrain', )")


def pretrain(job: dict, args) -> dict:
    """The study's training of a row (study_stages.train: same config,
    knobs, seed and FLOP rule), its checkpoint kept in the cache."""
    from mmengine.registry import init_default_scope

    import study_stages as st
    init_default_scope('mmpretrain')
    ns = Namespace(smoke=args.smoke, budget_s=None,
                   work_dir=osp.join(args.cache, 'pretrain'))
    rec = st.train(job, ns)
    rec['checkpoint'] = osp.relpath(rec['checkpoint'], args.cache)
    return dict(job, **rec)
