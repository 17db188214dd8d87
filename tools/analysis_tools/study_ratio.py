"""The study's mask-ratio axis (small_scale_study.py ``--stage ratios``): how
much MAE and SymMIM with a random online mask depend on the ratio, at the
1x FLOP budget, against the checkerboard's fixed 50 %.

Each run keeps its row's 1x-tuned learning rate (validation, seed 0; the
random-mask row takes SymMIM default's, as at 1x) and changes only the mask
ratio (``mask_ratio`` knob: ``MAEViT.mask_ratio`` or the random online
``SimMIMMaskGenerator``'s). Iterations follow from the FLOPs as everywhere
(``budget // FLOPs per step``, the step measured at that ratio), so a row
whose encoder sees fewer tokens trains more steps. The runs at a row's own
ratio (MAE 0.75, the random mask 0.5) are the 1x study's, unchanged.

PLAN is seed-major (every ratio of seed 0 first), then the 3x points:
each method's best and worst 1x ratio on seeds 0-1 (chosen from the 1x
seed means once all three seeds are in).
"""
import statistics

import study_rows as sr

RATIOS = {'mae': (0.5, 0.6, 0.75, 0.85, 0.9),
          'symmim-random-asym': (0.25, 0.4, 0.5, 0.6, 0.75)}
BOARD = 'symmim-asymmetric'  # the checkerboard: 0.5, no knob
LABELS = {'mae': "MAE (mmpretrain)", 'symmim-random-asym':
          'SymMIM default, random online mask', BOARD:
          'SymMIM default, checkerboard (0.5)'}
METRICS = (('knn', 'k-NN (k=20)'), ('linear', 'linear probe'),
           ('finetune', '1 %-label fine-tune'))


def required() -> list:
    """``(budget, row, seed, ratio)`` of the 1x axis, seed-major."""
    return [(1, row, seed, r) for seed in (0, 1, 2)
            for row, ratios in RATIOS.items() for r in ratios]


def knobs(results: dict, row: str, ratio: float) -> dict:
    return dict(sr.chosen_knobs(results, row), **sr.ratio_knobs(row, ratio))


def runs_at(results: dict, row: str, ratio: float, budget=1) -> list:
    """Test runs of ``row`` at ``ratio`` (and the row's chosen lr)."""
    want = sr.clean(knobs(results, row, ratio))
    return sorted((r for r in results['runs'] if r['row'] == row
                   and r['knobs'] == want and sr.budget_of(r) == budget
                   and 'test' in r['evals']), key=lambda r: r['seed'])


def value(run: dict, metric: str, read: str):
    from study_curves import value as v
    return v(run['evals']['test'], metric, read)


def extremes(results: dict, row: str, read: str):
    """The row's best and worst 1x ratio by the seed mean of the linear
    probe, once every ratio holds 3 seeds; else None."""
    means = {}
    for r in RATIOS[row]:
        rs = runs_at(results, row, r)
        if len(rs) < 3:
            return None
        means[r] = statistics.mean(value(x, 'linear', read) for x in rs)
    best = max(means, key=means.get)
    return best, min(means, key=means.get)


def wants(study) -> list:
    """``(row, seed, knobs, ['test'], budget)`` for the study's seeds and
    budgets: the 1x axis, then (once it is whole) the 3x extremes."""
    from study_curves import readouts
    args, res = study.args, study.results
    out = [(row, seed, knobs(res, row, r), ['test'], b)
           for b, row, seed, r in required()
           if b in args.budgets and seed in args.seeds and row in study.rows]
    if 3 in args.budgets:
        reads = readouts(res)
        for row in RATIOS:
            ext = extremes(res, row, reads[row])
            for seed in (0, 1):
                if ext and seed in args.seeds and row in study.rows:
                    out += [(row, seed, knobs(res, row, r), ['test'], 3)
                            for r in sorted(set(ext))]
    return out
