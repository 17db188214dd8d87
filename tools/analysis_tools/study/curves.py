"""The study's budget curves (run.py small-scale ``--stage curves``): the
same protocol at several multiples of the first study's budget (1x = 12.73
TFLOP, the demo's 400 steps), read as top-1 against training FLOPs.

Every row keeps the learning rate its 1x tuning chose (validation, seed 0);
iterations follow from the FLOPs as at 1x (``budget * 1x FLOPs // FLOPs per
step``) with the same schedule rule (10 % warm-up, cosine). The 1x runs of
the first study are the curves' first points, unchanged.

PLAN is in priority order, seed by seed, so a study stopped at any point
holds whole curves for the seeds it reached: seed 0 of every curve first,
then seed 1, then seed 2, then what the CPU may spare (10x seed 2, the
mask-token path at 3x: does the 1x choice of encoder input hold? lr x0.5 at
10x). The tables and figure: curves_report.py.
"""
import statistics

from .choice import budget_of, chosen_knobs, find_run
from .knobs import clean, knob_tag
from .rows import TUNED_AS
from .tables import main_runs, readout, value

CURVE_ROWS = ('symmim-asymmetric', 'mae', 'symmim-random-asym',
              'symmim-visible', 'symmim-mask-token', 'mocov3', 'mocov2',
              'mixmask-mocov2')
FLAT_ROWS = ('raw-pixels', 'random-init', 'random-init-resnet')
# 'steps': '<row>' trains the row's seed-0 1x iteration count (equal steps)
EQUAL_STEPS = dict(steps='mocov2')


def _plan():
    seed_major = []
    for seed in (0, 1, 2):
        seed_major += [
            (3, 'symmim-asymmetric', seed, {}), (3, 'mae', seed, {}),
            (3, 'symmim-random-asym', seed, {}),
            (1, 'symmim-random-asym', seed, {})]
        if seed < 2:
            seed_major += [(10, 'symmim-asymmetric', seed, {}),
                           (10, 'mae', seed, {})]
        if seed == 0:
            seed_major += [(3, 'symmim-visible', 0, {}), (3, 'mocov3', 0, {})]
        seed_major += [(3, 'mocov2', seed, {}),
                       (3, 'mixmask-mocov2', seed, {}),
                       (1, 'mixmask-mocov2', seed, EQUAL_STEPS)]
        if seed == 0:
            seed_major += [(10, 'symmim-random-asym', 0, {})]
    return seed_major


# (budget, row, seed, extra knobs): the runs the issue asks for, seed-major,
# then the spare ones in the order the CPU should take them
REQUIRED = _plan()
SPARE = [(10, 'symmim-asymmetric', 2, {}), (10, 'mae', 2, {}),
         (3, 'symmim-mask-token', 0, {}),
         (10, 'symmim-asymmetric', 0, dict(lr_mult=0.5)),
         (10, 'mae', 0, dict(lr_mult=0.5))]
PLAN = REQUIRED + SPARE


def knobs_for(results: dict, row: str, extra: dict) -> dict:
    """The row's 1x choice, with ``extra``: ``lr_mult`` scales its lr;
    ``steps='<row>'`` takes that row's seed-0 1x iterations."""
    knobs = dict(chosen_knobs(results, row))
    extra = dict(extra)
    if 'lr_mult' in extra:
        knobs['lr'] = knobs.get('lr', 1.) * extra.pop('lr_mult')
    if isinstance(extra.get('steps'), str):
        ref = extra['steps']
        run = find_run(results, ref, 0,
                          clean(chosen_knobs(results, ref)))
        if run is None:
            raise ValueError(f"equal steps with {ref}: the results hold no "
                             f"seed-0 1x run of {ref} (run --stage seeds "
                             f"--rows {ref} first)")
        extra['steps'] = int(run['iters'])
    return dict(knobs, **extra)


def wants(study) -> list:
    """``(row, seed, knobs, ['test'], budget)`` of PLAN within the study's
    ``--budgets``, ``--seeds`` and ``--rows``."""
    args = study.args
    out = []
    for budget, row, seed, extra in PLAN:
        if (budget in args.budgets and seed in args.seeds
                and row in study.rows and study.ready(row)):
            out.append((row, seed, knobs_for(study.results, row, extra),
                        ['test'], budget))
    return out


def planned_run(results: dict, budget, row: str, seed: int, extra: dict):
    """The record of one plan entry, if it holds a test evaluation."""
    run = find_run(results, row, seed,
                      clean(knobs_for(results, row, extra)), budget)
    return run if run and 'test' in run['evals'] else None


def plan_done(results: dict, plan=PLAN) -> tuple:
    """``(done, total)``: the plan's runs whose test evaluation ``results``
    holds."""
    return (sum(bool(planned_run(results, *p)) for p in plan), len(plan))


def plan_line(results: dict) -> str:
    """``Plan: a of b required runs done, c of d spare ones.``"""
    req = plan_done(results, REQUIRED)
    spare = plan_done(results, SPARE)
    return (f'Plan: {req[0]} of {req[1]} required runs done, {spare[0]} of '
            f'{spare[1]} spare ones.')


# ------------------------------------------------------------- reading
def curve_runs(results: dict, row: str, budget) -> list:
    """The row's test runs at ``budget`` at its most-seeded knobs (no
    fixed-step runs; at 1x these are the main table's runs)."""
    runs = [r for r in results['runs'] if r['row'] == row
            and budget_of(r) == budget and 'test' in r['evals']
            and not r['knobs'].get('steps')]
    groups = {}
    for r in runs:
        groups.setdefault(knob_tag(r['knobs']), []).append(r)
    if not groups:
        return []
    chosen = knob_tag(clean(chosen_knobs(results, row)))
    best = groups.get(chosen) or max(groups.values(), key=len)
    return sorted(best, key=lambda r: r['seed'])


def budgets_of(results: dict) -> list:
    return sorted({budget_of(r) for r in results['runs']})


def points(results: dict, row: str, metric: str, read: str) -> list:
    """``[(TFLOP, mean, min, max, n_seeds)]`` along the budgets."""
    out = []
    for b in budgets_of(results):
        rs = curve_runs(results, row, b)
        vals = [v for v in (value(r['evals']['test'], metric, read)
                            for r in rs) if v is not None]
        if vals:
            tflop = statistics.mean(r.get('train_flops', 0) for r in rs) / 1e12
            out.append((tflop, statistics.mean(vals), min(vals), max(vals),
                        len(vals)))
    return out


def readouts(results: dict) -> dict:
    """Each curve row's frozen readout ('cls' / 'mean'), chosen at 1x on
    validation (rows tuned as another take that row's)."""
    return {row: readout(main_runs(results, TUNED_AS.get(row, row)))
            for row in CURVE_ROWS}
