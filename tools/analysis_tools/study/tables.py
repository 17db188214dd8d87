"""Markdown shared by the studies' reports: a cell of per-seed values, a
run's metric by readout, the 1x runs a row's table line shows and the
readout it is read by, and the marked block of a page that the tables
fill."""
import statistics

from .choice import budget_of
from .knobs import knob_tag

BEGIN, END = '<!-- study:begin -->', '<!-- study:end -->'


def cell(values) -> str:
    """``mean ± sample std (v1, v2, ...)``; the value alone for one seed;
    '' for none."""
    values = [v for v in values if v is not None]
    if not values:
        return ''
    if len(values) == 1:
        return f'{values[0]:.2f}'
    std = statistics.stdev(values)
    return (f'{statistics.mean(values):.2f} ± {std:.2f} ('
            + ', '.join(f'{v:.2f}' for v in values) + ')')


def first_readout(ev: dict, key: str):
    """``key`` of the row's first readout: ``knn_cls`` falls back to
    ``knn_pool`` / ``knn_pixels`` for rows without tokens."""
    if key in ev:
        return ev[key]
    if key.endswith('_cls'):
        base = key[:-len('cls')]
        return next((v for k, v in ev.items() if k.startswith(base)
                     and k.rsplit('_', 1)[1] in ('pool', 'pixels')), None)
    return None


def seeded_cells(runs: list, keys) -> str:
    """One table row's test-split cells: a :func:`cell` per metric key,
    then the seeds run."""
    ev = [r['evals']['test'] for r in runs]
    return ' | '.join([cell([first_readout(e, k) for e in ev]) for k in keys]
                      + [','.join(str(r['seed']) for r in runs)])


def main_runs(results, row):
    """The row's 1x test-split runs at its most-seeded knobs (never the
    off-budget step-count runs, the mask-ratio axis' runs, nor the curves'
    other budgets)."""
    runs = [r for r in results['runs'] if r['row'] == row
            and 'test' in r['evals'] and not r['knobs'].get('steps')
            and 'mask_ratio' not in r['knobs'] and budget_of(r) == 1]
    if not runs:
        return []
    counts = {}
    for r in runs:
        counts.setdefault(knob_tag(r['knobs']), []).append(r)
    best = max(counts.values(), key=len)
    return sorted(best, key=lambda r: r['seed'])


def readout(runs: list) -> str:
    """'mean' if the row's seed-0 run read better from the mean of the
    patch tokens than from the class token on the validation linear probe
    (chosen on validation, never on test); else 'cls'."""
    val = next((r['evals']['val'] for r in runs if r['seed'] == 0
                and 'val' in r['evals']), {})
    return 'mean' if val.get('linear_mean', -1) > val.get('linear_cls', 0) \
        else 'cls'


def value(ev: dict, metric: str, read: str):
    """``metric`` ('knn', 'linear', 'finetune') of a test evaluation, from
    readout ``read`` (rows without tokens: their one readout)."""
    if metric == 'finetune':
        return ev.get('finetune')
    key = f'{metric}_{read}'
    if key in ev:
        return ev[key]
    return next((v for k, v in ev.items() if k.startswith(metric + '_')
                 and k.rsplit('_', 1)[1] in ('pool', 'pixels')), None)


def fill_block(doc: str, body: str) -> None:
    """Replace what stands between the doc's markers with ``body``."""
    with open(doc) as f:
        text = f.read()
    if BEGIN not in text or END not in text:
        raise ValueError(f'{doc} lacks the {BEGIN} / {END} markers')
    head, rest = text.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    with open(doc, 'w') as f:
        f.write(head + BEGIN + '\n' + body + '\n' + END + tail)
