"""The study's mask-ratio axis (run.py small-scale ``--stage ratios``): how
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

from . import tables
from .choice import budget_of, chosen_knobs
from .curves import readouts
from .figures import READOUTS, readout_panels, untrained_lines
from .knobs import OWN_RATIO, clean, ratio_knobs
from .tables import cell, main_runs

RATIOS = {'mae': (0.5, 0.6, 0.75, 0.85, 0.9),
          'symmim-random-asym': (0.25, 0.4, 0.5, 0.6, 0.75)}
BOARD = 'symmim-asymmetric'  # the checkerboard: 0.5, no knob
LABELS = {'mae': "MAE (mmpretrain)", 'symmim-random-asym':
          'SymMIM default, random online mask', BOARD:
          'SymMIM default, checkerboard (0.5)'}


def required() -> list:
    """``(budget, row, seed, ratio)`` of the 1x axis, seed-major."""
    return [(1, row, seed, r) for seed in (0, 1, 2)
            for row, ratios in RATIOS.items() for r in ratios]


def knobs(results: dict, row: str, ratio: float) -> dict:
    return dict(chosen_knobs(results, row), **ratio_knobs(row, ratio))


def runs_at(results: dict, row: str, ratio: float, budget=1) -> list:
    """Test runs of ``row`` at ``ratio`` (and the row's chosen lr)."""
    want = clean(knobs(results, row, ratio))
    return sorted((r for r in results['runs'] if r['row'] == row
                   and r['knobs'] == want and budget_of(r) == budget
                   and 'test' in r['evals']), key=lambda r: r['seed'])


def value(run: dict, metric: str, read: str):
    return tables.value(run['evals']['test'], metric, read)


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


def extreme_runs(results: dict) -> list:
    """``(row, seed, ratio)`` of the 3x runs: each method's best and worst
    1x ratio on seeds 0-1, once its 1x axis is whole."""
    reads = readouts(results)
    out = []
    for row in RATIOS:
        ext = extremes(results, row, reads[row])
        if ext:
            out += [(row, seed, r) for seed in (0, 1)
                    for r in sorted(set(ext))]
    return out


def held(results: dict, row: str, seed: int, ratio: float, budget) -> bool:
    return any(x['seed'] == seed
               for x in runs_at(results, row, ratio, budget))


def wants(study) -> list:
    """``(row, seed, knobs, ['test'], budget)`` for the study's seeds and
    budgets: the 1x axis, then (once it is whole) the 3x extremes."""
    args, res = study.args, study.results
    out = [(row, seed, knobs(res, row, r), ['test'], b)
           for b, row, seed, r in required()
           if b in args.budgets and seed in args.seeds and row in study.rows]
    if 3 in args.budgets:
        out += [(row, seed, knobs(res, row, r), ['test'], 3)
                for row, seed, r in extreme_runs(res)
                if seed in args.seeds and row in study.rows]
    return out


# ------------------------------------------------------------- reading
def points(results: dict, row: str, metric: str, read: str) -> list:
    """``[(ratio, mean, min, max, n_seeds)]`` at 1x along the row's
    ratios."""
    out = []
    for r in RATIOS[row]:
        vals = [v for v in (value(x, metric, read)
                            for x in runs_at(results, row, r))
                if v is not None]
        if vals:
            out.append((r, statistics.mean(vals), min(vals), max(vals),
                        len(vals)))
    return out


def ratio_table(results: dict) -> list:
    """Markdown: every ratio of each method (1x, test split), then the
    board."""
    reads = readouts(results)
    lines = ['| method | mask ratio | iters | TFLOP | k-NN | linear | '
             '1 % fine-tune | seeds |', '|' + '---|' * 8]
    rows = [(row, r, runs_at(results, row, r)) for row in RATIOS
            for r in RATIOS[row]] + [(BOARD, 0.5, main_runs(results, BOARD))]
    for row, r, rs in rows:
        if not rs:
            continue
        cells = [cell([value(x, m, reads[row]) for x in rs])
                 for m, _ in READOUTS]
        lines.append(f'| {LABELS[row]} | {r:g} | {rs[0]["iters"]} | '
                     f'{rs[0]["train_flops"] / 1e12:.1f} | '
                     + ' | '.join(cells) + ' | '
                     + ','.join(str(x['seed']) for x in rs) + ' |')
    return lines if len(lines) > 2 else []


def search_table(results: dict) -> list:
    """Markdown: per method and readout, the best and worst ratio (seed
    means over the ratios that hold them), the spread, what the best buys
    over the method's default ratio, and what searching the ratios tried
    costs in 1x runs."""
    reads = readouts(results)
    lines = ['| method | readout | best ratio | worst ratio | best - worst | '
             'best - default | a search of the ratios here costs |',
             '|' + '---|' * 7]
    for row in RATIOS:
        for metric, label in READOUTS:
            pts = points(results, row, metric, reads[row])
            if len(pts) < 2:
                continue
            best = max(pts, key=lambda p: p[1])
            worst = min(pts, key=lambda p: p[1])
            own = next((p for p in pts if p[0] == OWN_RATIO[row]), None)
            gain = f'{best[1] - own[1]:+.2f}' if own else ''
            lines.append(
                f'| {LABELS[row]} | {label} | {best[0]:g} ({best[1]:.2f}) | '
                f'{worst[0]:g} ({worst[1]:.2f}) | {best[1] - worst[1]:.2f} | '
                f'{gain} (default {OWN_RATIO[row]:g}) | {len(pts)} x 1x '
                f'= {len(pts) * results["budget_flops"] / 1e12:.0f} TFLOP |')
    return lines if len(lines) > 2 else []


def compute_table(results: dict) -> list:
    """Markdown: does the sensitivity grow with compute? Per method and
    readout, the gap between the 1x best and worst ratio (``extremes``) at
    1x and at 3x over the seeds that hold both 3x runs, and what the best
    ratio gives over the default ratio at 3x."""
    reads = readouts(results)
    lines = ['| method | readout | best / worst ratio (1x) | gap at 1x | '
             'gap at 3x | best - default at 3x | seeds |', '|' + '---|' * 7]
    for row in RATIOS:
        ext = extremes(results, row, reads[row])
        if not ext:
            continue
        at = {(b, r): {x['seed']: x for x in runs_at(results, row, r, b)}
              for b, r in ((1, ext[0]), (1, ext[1]), (3, ext[0]),
                           (3, ext[1]), (3, OWN_RATIO[row]))}
        seeds = sorted(set(at[3, ext[0]]) & set(at[3, ext[1]]))
        if not seeds:
            continue
        for metric, label in READOUTS:
            def gap(b, a, z):
                pairs = [(value(at[b, a][s], metric, reads[row]),
                          value(at[b, z][s], metric, reads[row]))
                         for s in seeds if s in at[b, a] and s in at[b, z]]
                pairs = [p for p in pairs if None not in p]
                return (f'{statistics.mean(x - y for x, y in pairs):+.2f}'
                        if pairs else '')
            lines.append(
                f'| {LABELS[row]} | {label} | {ext[0]:g} / {ext[1]:g} | '
                f'{gap(1, *ext)} | {gap(3, *ext)} | '
                f'{gap(3, ext[0], OWN_RATIO[row])} | '
                f'{",".join(map(str, seeds))} |')
    return lines if len(lines) > 2 else []


def figure(results: dict, path: str) -> None:
    """Three panels (k-NN, linear, 1 % fine-tune): top-1 against the mask
    ratio, a line per method through the seed means with the min-max band,
    the board as a point at 0.5, raw pixels and random init as flat
    lines."""
    reads = readouts(results)

    def draw(ax, metric):
        for i, row in enumerate(RATIOS):
            pts = points(results, row, metric, reads[row])
            if pts:
                x, mean, lo, hi, _ = zip(*pts)
                ax.plot(x, mean, '-o', ms=3, color=f'C{i}',
                        label=LABELS[row])
                ax.fill_between(x, lo, hi, color=f'C{i}', alpha=0.15)
        board = [value(r, metric, reads[BOARD])
                 for r in main_runs(results, BOARD)]
        board = [v for v in board if v is not None]
        if board:
            ax.errorbar([0.5], [statistics.mean(board)],
                        yerr=[[statistics.mean(board) - min(board)],
                              [max(board) - statistics.mean(board)]],
                        fmt='s', color='C3', ms=6, label=LABELS[BOARD])
        untrained_lines(ax, results, ('raw-pixels', 'random-init'), metric)
        ax.set_xlabel(
            'mask ratio (1x FLOPs: fewer visible tokens, more steps)')
        ax.grid(alpha=0.3)

    readout_panels(
        path, draw, 'Mask-ratio sensitivity at equal FLOPs (1x = '
        f'{results.get("budget_flops", 0) / 1e12:.1f} TFLOP): seed '
        'means, bands min-max over seeds', ncol=3, legend_space=0.1)


def plan_line(results: dict) -> str:
    done = sum(held(results, row, seed, r, 1)
               for _, row, seed, r in required())
    line = f'Ratio axis: {done} of {len(required())} 1x runs done'
    at_3x = extreme_runs(results)
    if not at_3x:
        return line + '.'
    done3 = sum(held(results, row, seed, r, 3) for row, seed, r in at_3x)
    return line + (f'; {done3} of {len(at_3x)} 3x runs (best and worst 1x '
                   'ratio, seeds 0-1).')
