"""Tables and figure of the budget curves (docs/budget_curves.md, written
with the other pages by report.py): every curve row at every budget, the
gaps between the rows the curves compare, what each budget's runs cost, and
top-1 against training FLOPs."""
import statistics

from . import rows as sr
from .choice import budget_of, wall_hours
from .curves import (
    CURVE_ROWS,
    FLAT_ROWS,
    SPARE,
    budgets_of,
    curve_runs,
    planned_run,
    points,
    readouts,
)
from .figures import readout_panels, untrained_lines
from .knobs import knob_tag
from .tables import cell, value

# a tab10 colour per curve row, without brown and grey (the flat lines')
COLOURS = (0, 1, 2, 3, 4, 6, 8, 9)


def whole_timed(run: dict) -> bool:
    """Whether the run's training seconds cover all its iterations: a
    record without ``timed_since`` predates the clock, and then a resumed
    run (``resumed_at``) timed its last attempt only."""
    return run.get('timed_since', run.get('resumed_at', 0)) == 0


def cost_table(results: dict) -> list:
    """Markdown: what each budget's runs cost. Wall hours as measured
    (each run under the load of its time); CPU hours (user + system, the
    run's process and its loader workers) where the record has them for
    the whole run, the cost that load does not change."""
    def row(label, rs):
        timed = [r for r in rs if 'eval_cpu_s' in r and whole_timed(r)]
        cpu = sum(r.get('train_cpu_s', 0) + r['eval_cpu_s'] for r in timed)
        iters = sum(r.get('iters', 0) for r in rs)
        return (f'| {label} | {len(rs)} | {iters} | {wall_hours(rs):.1f}'
                f' | {cpu / 3600:.1f} ({len(timed)}) |')

    runs = results['runs']
    return ['', '| cost | runs | training iterations | wall h (train + '
            'eval) | CPU h (runs measured) |', '|---|---|---|---|---|'] + [
        row(f'{b:g}x', [r for r in runs if budget_of(r) == b])
        for b in budgets_of(results)] + [row('all', runs)]


def curves_table(results: dict) -> list:
    """Markdown: every curve row at every budget it has (test split)."""
    reads = readouts(results)
    lines = []
    for row in CURVE_ROWS:
        for b in budgets_of(results):
            rs = curve_runs(results, row, b)
            if not rs or (b == 1 and len(budgets_of(results)) == 1):
                continue
            ev = [r['evals']['test'] for r in rs]
            cells = [cell([value(e, m, reads[row]) for e in ev])
                     for m in ('knn', 'linear', 'finetune')]
            read = reads[row] if sr.ROWS[row].family == 'vit' else 'pool'
            lines.append(
                f'| {row} | {b:g}x | {knob_tag(rs[0]["knobs"])} | '
                f'{rs[0]["iters"]} | {rs[0]["train_flops"] / 1e12:.1f} | '
                f'{read} | ' + ' | '.join(cells) + ' | '
                + ','.join(str(r['seed']) for r in rs) + ' |')
    if not lines:
        return []
    return ['', '| curves (test split) | budget | knobs | iters | TFLOP | '
            'readout | k-NN | linear | 1 % fine-tune | seeds |',
            '|' + '---|' * 10] + lines


# the comparisons the curves answer: (row, minus row, what it asks)
GAPS = (('mae', 'symmim-asymmetric', 'MAE - SymMIM default'),
        ('symmim-random-asym', 'symmim-asymmetric',
         'random 50 % mask - checkerboard (one order)'),
        ('symmim-asymmetric', 'symmim-visible',
         'one view order - both orders'),
        ('symmim-visible', 'symmim-mask-token',
         'visible tokens - mask tokens (both orders)'),
        ('mixmask-mocov2', 'mocov2', 'MixMask - MoCo v2'))


def gap_cell(a: list, b: list, metric: str, reads: tuple) -> str:
    """``difference of the seed means [min, max of the per-seed
    differences]``, the bracket over the seeds both rows hold (two or
    more); where the rows hold different seeds, ``(same seeds: mean of the
    per-seed differences)`` follows. Each row on its own readout."""
    va, vb = ({r['seed']: value(r['evals']['test'], metric, rd)
               for r in rs} for rs, rd in zip((a, b), reads))
    va = {k: v for k, v in va.items() if v is not None}
    vb = {k: v for k, v in vb.items() if v is not None}
    if not va or not vb:
        return ''
    out = f'{statistics.mean(va.values()) - statistics.mean(vb.values()):+.2f}'
    paired = [va[k] - vb[k] for k in sorted(va.keys() & vb.keys())]
    if len(paired) > 1:
        out += f' [{min(paired):+.2f}, {max(paired):+.2f}]'
    if paired and va.keys() != vb.keys():
        out += f' (same seeds: {statistics.mean(paired):+.2f})'
    return out


def gap_table(results: dict) -> list:
    """Markdown: each comparison in GAPS at each budget both rows have, in
    points of top-1 (test split): where lines cross (the sign changes
    along the budgets) or converge (the gap shrinks) is read here. Then
    each spare lr run (SPARE's ``lr_mult``) against its row's curve."""
    reads, budgets = readouts(results), budgets_of(results)
    pairs = [(what, b, curve_runs(results, row, b),
              curve_runs(results, minus, b), (reads[row], reads[minus]))
             for row, minus, what in GAPS for b in budgets
             if b != 1 or len(budgets) > 1]
    for b, row, seed, extra in SPARE:  # a spare lr against the row's own
        run = 'lr_mult' in extra and planned_run(results, b, row, seed, extra)
        if run:
            pairs.append((f'{row}: lr x{extra["lr_mult"]:g} - its 1x lr', b,
                          [run], curve_runs(results, row, b),
                          (reads[row], ) * 2))
    lines = []
    for what, b, a, o, rds in pairs:
        if not a or not o:
            continue
        cells = [gap_cell(a, o, m, rds) for m in ('knn', 'linear', 'finetune')]
        seeds = ' / '.join(','.join(str(r['seed']) for r in rs)
                           for rs in (a, o))
        lines.append(f'| {what} | {b:g}x | ' + ' | '.join(cells)
                     + f' | {seeds} |')
    if not lines:
        return []
    return ['', '| gap in points (test split) | budget | k-NN | linear | '
            '1 % fine-tune | seeds (row / minus row) |',
            '|' + '---|' * 6] + lines


def curves_figure(results: dict, path: str) -> None:
    """Three panels (k-NN, linear probe, 1 % fine-tune): top-1 against
    training TFLOP (log axis), a line per row through the seed means, the
    band from the seeds' min to max; raw pixels and the random encoders as
    horizontal lines."""
    reads = readouts(results)
    base = results.get('budget_flops', 0) / 1e12
    ticks = [b * base for b in budgets_of(results)]

    def draw(ax, metric):
        import matplotlib.pyplot as plt
        colours = plt.get_cmap('tab10')
        for i, row in enumerate(CURVE_ROWS):
            pts = points(results, row, metric, reads[row])
            if not pts:
                continue
            x, mean, lo, hi, n = zip(*pts)
            style = '--' if sr.ROWS[row].family == 'resnet' else '-'
            colour = colours(COLOURS[i])
            ax.plot(x, mean, style, marker='o', ms=3, color=colour,
                    label=row)
            ax.fill_between(x, lo, hi, color=colour, alpha=0.15)
        untrained_lines(ax, results, FLAT_ROWS, metric)
        ax.set_xscale('log')
        ax.set_xticks(ticks, [f'{b:g}x\n{t:.0f}' for b, t in
                              zip(budgets_of(results), ticks)])
        ax.minorticks_off()
        ax.set_xlabel('training TFLOP (log)')
        ax.grid(alpha=0.3, which='both')

    readout_panels(
        path, draw, 'Equal-FLOP study at 1x / 3x / 10x the budget (1x = '
        f'{base:.1f} TFLOP): seed means, bands min-max over seeds', ncol=5,
        legend_space=0.12)
