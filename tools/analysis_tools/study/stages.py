"""The equal-compute study's stages (run.py small-scale): :class:`Study`
asks for the jobs each stage needs and skips what the results file holds;
:func:`run_job` is one job (training if needed, then evaluation), run in a
process of its own."""
import os
import os.path as osp
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed

import mmengine
import torch

from . import curves as sc
from . import evaluate as se
from . import flops as sf
from . import ratio as sra
from . import rows as sr
from .choice import chosen_knobs, find_run, lr_knobs
from .clock import cpu_seconds
from .knobs import LR_GRID, clean, knob_tag
from .report import write_report
from .training import train, train_config

DIAGNOSIS = (  # (name, row, knobs added to the row's chosen lr, evaluation)
    ('default, class token', 'symmim-visible', {}, 'val_ft'),
    ('default, mean of patch tokens', 'symmim-visible', {}, 'val_ft_mean'),
    ('norm_target=True', 'symmim-visible', dict(norm_target=True), 'val_ft'),
    ('w_con x0.5', 'symmim-visible', dict(w_con=0.5), 'val_ft'),
    ('w_con x0.25', 'symmim-visible', dict(w_con=0.25), 'val_ft'),
    ('MIM branch alone (w_con=0)', 'symmim-visible', dict(w_con=0.), 'val_ft'),
    ('symmetric=False', 'symmim-asymmetric', {}, 'val_ft'),
    ('MAE, class token', 'mae', {}, 'val_ft'),
    ('MAE, mean of patch tokens', 'mae', {}, 'val_ft_mean'),
    ('random init', 'random-init', {}, 'val_ft'),
    # off the budget: is it the step count? SymMIM's default (symmetric=False)
    # at MAE's iterations ('mae': resolved from MAE's seed-0 run), 2.3x FLOPs
    ("symmetric=False at MAE's steps", 'symmim-asymmetric', dict(steps='mae'),
     'val_ft'),
)
# MoCo v2 recipe search: one knob at a time from the demo's recipe, each
# value kept if it raises the validation k-NN (seed 0). First the BatchNorm
# split: on one process MoCo's shuffle BN is a no-op (SplitBatchNorm)
RECIPE_GRID = (('bn_splits', (8, )), ('lr', (0.25, 0.5, 2.0)),
               ('queue_len', (1024, 16384)),
               ('momentum', (0.004, 0.05)), ('crop_min', (0.2, 0.6)),
               ('temperature', (0.1, 0.5)))


def run_job(job: dict, args) -> dict:
    """Train if the record has no checkpoint on disk, then evaluate."""
    from mmengine.registry import init_default_scope

    import mmsymmim  # noqa: F401  (registers modules, compat fixes)
    init_default_scope('mmpretrain')
    if args.threads:
        torch.set_num_threads(args.threads)
    res = dict(job, threads=torch.get_num_threads(),
               nice=os.getpriority(os.PRIO_PROCESS, 0))
    if sr.ROWS[job['row']].train and not osp.isfile(job.get('checkpoint')
                                                    or ''):
        res.update(train(job, args), trained_here=True)
    elif not sr.ROWS[job['row']].train:
        res.update(iters=0, train_flops=0)
    t0, cpu0 = time.perf_counter(), cpu_seconds()
    res['evals'] = se.evaluate(res, res.pop('need'), args)
    res['eval_s'] = round(time.perf_counter() - t0, 1)
    res['eval_cpu_s'] = round(cpu_seconds() - cpu0, 1)
    return res


class Study:
    """The stages, over a results dict ``{protocol, runs, ...}`` that
    ``spawn(job, args)`` fills run by run (written after each)."""

    def __init__(self, results: dict, args, spawn) -> None:
        self.results, self.args, self.spawn = results, args, spawn
        self.rows = args.rows
        self.lock = threading.Lock()

    # ------------------------------------------------------------- runs
    def budget_flops(self) -> int:
        if 'budget_flops' not in self.results:
            cfg = train_config('symmim-visible', {}, 0, self.args.smoke)
            self.results['budget_flops'] = int(
                self.args.budget_steps * sf.step_flops(cfg))
        return self.results['budget_flops']

    def find(self, row, seed, knobs, budget=1):
        return find_run(self.results, row, seed, knobs, budget)

    def job(self, row: str, seed: int, knobs: dict, evals, budget=1):
        """The job that would complete a run's ``evals`` (None if the
        results hold them all)."""
        knobs = clean(knobs)
        rec = self.find(row, seed, knobs, budget)
        need = [e for e in evals if e not in (rec or {}).get('evals', {})]
        if not need:
            return None
        tag = (f'{row}_s{seed}_' + knob_tag(knobs).replace(',', '_')
               + (f'_x{budget:g}' if budget != 1 else ''))
        return dict(row=row, seed=seed, knobs=knobs, tag=tag, need=need,
                    budget=budget, budget_flops=int(self.budget_flops()
                                                    * budget),
                    checkpoint=(rec or {}).get('checkpoint'))

    def merge(self, job: dict, res: dict) -> dict:
        """Fold a finished job into the results and write them (atomic)."""
        with self.lock:
            rec = self.find(job['row'], job['seed'], job['knobs'],
                            job['budget'])
            if rec is None:
                self.results['runs'].append(res)
            else:
                old = rec['evals']
                if res.get('trained_here'):  # checkpoint was gone: retrained
                    rec.clear()
                rec.update(res, evals=dict(old, **res['evals']))
            print(f'{job["tag"]}: ' + ', '.join(
                f'{e}={v}' for e, v in res['evals'].items()), flush=True)
            mmengine.dump(self.results, self.args.results, indent=1)
            return self.find(job['row'], job['seed'], job['knobs'],
                             job['budget'])

    def ensure(self, row: str, seed: int, knobs: dict, evals,
               budget=1) -> dict:
        job = self.job(row, seed, knobs, evals, budget)
        if job is None:
            return self.find(row, seed, clean(knobs), budget)
        return self.merge(job, self.spawn(job, self.args))

    def run_many(self, wants) -> None:
        """``ensure`` each ``(row, seed, knobs, evals, budget)`` in turn,
        or on ``--streams`` N processes at once (one thread each, niced;
        a failed job is reported after the others finish)."""
        jobs = [j for j in (self.job(*w) for w in wants) if j is not None]
        streams = getattr(self.args, 'streams', 1)
        if streams <= 1:
            for j in jobs:
                self.merge(j, self.spawn(j, self.args))
            return
        self.budget_flops()
        with ThreadPoolExecutor(streams) as pool:
            futures = {pool.submit(self.spawn, j, self.args): j for j in jobs}
            failed = []
            for fut in as_completed(futures):
                try:
                    self.merge(futures[fut], fut.result())
                except Exception as e:  # noqa: BLE001  (others go on)
                    failed.append(f'{futures[fut]["tag"]}: {e}')
        if failed:
            raise RuntimeError('failed runs:\n' + '\n'.join(failed))

    def chosen(self, row: str) -> dict:
        """The row's recipe (ResNet rows) with the lr that won --stage tune
        on the validation split; the recipe alone when not tuned."""
        return chosen_knobs(self.results, row)

    def lr(self, row: str, mult: float) -> dict:
        return lr_knobs(self.results, row, mult)

    def ready(self, row: str) -> bool:
        """ResNet rows wait for the recipe."""
        spec = sr.ROWS[row]
        return not (spec.family == 'resnet' and spec.train
                    and 'resnet_recipe' not in self.results)

    # ----------------------------------------------------------- stages
    def run_stage(self, stage: str) -> None:
        getattr(self, 'stage_' + stage.replace('-', '_'))()

    def stage_tune(self) -> None:
        for row in (r for r in self.rows if sr.ROWS[r].train and self.ready(r)
                    and r not in sr.TUNED_AS):
            for m in LR_GRID:
                self.ensure(row, 0, self.lr(row, m), ['val'])

    def stage_diagnose(self) -> None:
        for name, row, extra, ev in DIAGNOSIS:
            if row in self.rows:
                if extra.get('steps') == 'mae':  # MAE's iterations
                    mae = self.find('mae', 0, clean(self.chosen('mae')))
                    if mae is None and 'mae' not in self.rows:
                        print(f"{name}: skipped (needs MAE's seed-0 run; "
                              'add mae to --rows)', flush=True)
                        continue
                    mae = mae or self.ensure('mae', 0, self.chosen('mae'),
                                             ['val'])
                    extra = dict(extra, steps=int(mae['iters']))
                knobs = dict(self.chosen(row), **extra)
                self.ensure(row, 0, knobs, ['val', ev])
                if extra.get('steps'):  # seeded on test, beside the table
                    for seed in self.args.seeds:
                        self.ensure(row, seed, knobs, ['test'])

    def stage_seeds(self) -> None:
        self.run_many([(row, seed, self.chosen(row), ['test'], 1)
                       for seed in self.args.seeds
                       for row in self.rows if self.ready(row)])

    def stage_curves(self) -> None:
        """The runs of the budget curves (curves.PLAN) in
        ``--budgets`` and ``--seeds``, in the plan's order."""
        self.run_many(sc.wants(self))

    def stage_ratios(self) -> None:
        """The mask-ratio axis (ratio.py): the 1x ratios seed by
        seed, then the 3x extremes once the 1x axis is whole."""
        self.run_many(sra.wants(self))
        self.run_many(sra.wants(self))  # the 3x extremes, now decidable

    def stage_resnet_recipe(self) -> None:
        if 'mocov2' not in self.rows or 'resnet_recipe' in self.results:
            return
        rand = self.ensure('random-init-resnet', 0, {}, ['val'])
        score = lambda k: self.ensure('mocov2', 0, k, ['val'])[  # noqa: E731
            'evals']['val']['knn_pool']
        best, best_score = {}, score({})
        for name, values in RECIPE_GRID:
            for v in values:
                trial = dict(best, **{name: v})
                if score(trial) > best_score:
                    best, best_score = clean(trial), score(trial)
        self.results['resnet_recipe'] = dict(
            knobs=best, val_knn=best_score,
            random_init_val_knn=rand['evals']['val']['knn_pool'])
        mmengine.dump(self.results, self.args.results, indent=1)

    def stage_timing(self) -> None:
        rows = [r for r in self.rows if sr.ROWS[r].train and self.ready(r)]
        cfgs = {r: train_config(r, self.chosen(r), 0, self.args.smoke)
                for r in rows}
        self.results['timing'] = sf.time_rows(cfgs)
        mmengine.dump(self.results, self.args.results, indent=1)

    def stage_report(self) -> None:
        write_report(self.results, self.rows)
