"""Tables and figure of the equal-compute study (run.py small-scale
``--stage report``): markdown for docs/small_scale_study.md (between its
``<!-- study:begin -->`` and ``<!-- study:end -->`` markers) and
docs/small_scale_study.png; the budget curves' page (curves_report.py) and
the mask-ratio axis' (ratio.py) with them."""
import os.path as osp
import statistics

from . import curves as sc
from . import curves_report as cr
from . import ratio as sra
from . import rows as sr
from .choice import budget_of, tune_runs, wall_hours
from .knobs import knob_tag
from .paths import REPO
from .tables import fill_block, first_readout, main_runs, readout, seeded_cells

DOC = osp.join(REPO, 'docs/small_scale_study.md')
FIGURE = osp.join(REPO, 'docs/small_scale_study.png')
CURVES = osp.join(REPO, 'docs/small_scale_study_curves.png')
CURVES_DOC = osp.join(REPO, 'docs/budget_curves.md')
RATIO_DOC = osp.join(REPO, 'docs/mask_ratio.md')
RATIO_FIGURE = osp.join(REPO, 'docs/mask_ratio.png')


# the rows an equal-steps group answers to: the peer whose iterations it
# takes, and the random encoder of its family
STEP_PEERS = {'symmim-asymmetric': ('mae', 'random-init'),
              'mixmask-mocov2': ('mocov2', 'random-init-resnet')}


def steps_table(results: dict) -> list:
    """The off-budget step-count runs (knob 'steps') on the test split, a
    group per (row, steps), beside the seeded rows they answer to: the same
    row at the budget, the peer whose iterations they take (SymMIM: MAE;
    MixMask: MoCo v2) and the random encoder."""
    runs = sorted((r for r in results['runs'] if r['knobs'].get('steps')
                   and 'test' in r['evals']), key=lambda r: r['seed'])
    groups = {}
    for r in runs:
        groups.setdefault((r['row'], r['knobs']['steps']), []).append(r)
    if not groups:
        return []
    lines = ['', '| step-count test (test split) | iters | TFLOP | k-NN cls '
             '| linear cls | linear mean | 1 % fine-tune | seeds |',
             '|---|---|---|---|---|---|---|---|']
    for (row, steps), rs in groups.items():
        rows = [(f'{row} at {steps} steps', rs)] + [
            (r, main_runs(results, r)) for r in
            (row, *STEP_PEERS.get(row, ()))]
        for name, group in rows:
            if group:
                lines.append(f'| {name} | {group[0]["iters"]} | '
                             f'{group[0].get("train_flops", 0) / 1e12:.1f} | '
                             + seeded_cells(group, ('knn_cls', 'linear_cls',
                                                    'linear_mean',
                                                    'finetune')) + ' |')
    return lines


def recipe_table(results: dict) -> list:
    """--stage resnet-recipe: every seed-0 MoCo v2 run on the validation
    split in the order run, beside the random ResNet."""
    runs = [r for r in results['runs'] if r['seed'] == 0
            and r['row'] in ('mocov2', 'random-init-resnet')
            and 'val' in r['evals']]
    if not runs:
        return []
    chosen = results.get('resnet_recipe', {}).get('knobs')
    lines = ['', '| MoCo v2 recipe search (seed 0, validation) | knobs | '
             'iters | k-NN | linear |', '|---|---|---|---|---|']
    for r in runs:
        v = r['evals']['val']
        mark = ' (chosen)' if r['row'] == 'mocov2' and r['knobs'] == chosen \
            else ''
        lines.append(f'| {r["row"]}{mark} | {knob_tag(r["knobs"])} | '
                     f'{r.get("iters", 0)} | {first_readout(v, "knn_cls")} | '
                     f'{first_readout(v, "linear_cls")} |')
    return lines


def report_tables(results: dict, rows) -> str:
    lines = []
    main = [(row, main_runs(results, row)) for row in rows]
    main = [(row, rs) for row, rs in main if rs]
    if main:
        lines += ['| row | encoder | knobs | iters | GFLOP/step | k-NN cls | '
                  'k-NN mean | linear cls | linear mean | 1 % fine-tune | '
                  'seeds |', '|' + '---|' * 11]
        for row, rs in main:
            gflop = rs[0].get('flops_per_step', 0) / 1e9
            lines.append(
                f'| {row} | {sr.ENCODER[sr.ROWS[row].family]} | '
                f'{knob_tag(rs[0]["knobs"])} | {rs[0]["iters"]} | '
                f'{gflop:.1f} | ' + seeded_cells(
                    rs, ('knn_cls', 'knn_mean', 'linear_cls', 'linear_mean',
                         'finetune')) + ' |')
    tune = [r for row in rows for r in tune_runs(results, row)]
    if tune:
        lines += ['', '| tuning (seed 0, validation) | knobs | iters | '
                  'k-NN cls | k-NN mean | linear cls | linear mean |',
                  '|---|---|---|---|---|---|---|']
        for r in tune:
            v = r['evals']['val']
            lines.append(f'| {r["row"]} | {knob_tag(r["knobs"])} | '
                         f'{r["iters"]} | ' + ' | '.join(
                             str(first_readout(v, k) or '') for k in
                             ('knn_cls', 'knn_mean', 'linear_cls',
                              'linear_mean')) + ' |')
    lines += recipe_table(results)
    lines += steps_table(results)
    diag = [r for r in results['runs'] if set(r['evals']) & {
        'val_ft', 'val_ft_mean'}]
    if diag:
        lines += ['', '| diagnosis (seed 0, validation) | knobs | iters | '
                  'k-NN cls | linear cls | 1 % fine-tune cls | '
                  '1 % fine-tune mean |', '|---|---|---|---|---|---|---|']
        for r in diag:
            v, e = r['evals'].get('val', {}), r['evals']
            lines.append(
                f'| {r["row"]} | {knob_tag(r["knobs"])} | {r["iters"]} | '
                f'{first_readout(v, "knn_cls") or ""} | '
                f'{first_readout(v, "linear_cls") or ""} | '
                f'{e.get("val_ft", {}).get("finetune", "")} | '
                f'{e.get("val_ft_mean", {}).get("finetune", "")} |')
    runs = [r for r in results['runs'] if budget_of(r) == 1]
    if runs:  # the budget curves' runs: their own cost table
        lines += ['', f'{len(runs)} runs at 1x, '
                  f'{sum(r.get("iters", 0) for r in runs)} training '
                  f'iterations, {wall_hours(runs):.2f} h of training and '
                  'evaluation as measured (each run under the load of its '
                  'time; the other '
                  'budgets: docs/budget_curves.md).']
    lines += timing_table(results, rows)
    return '\n'.join(lines) or '(no runs yet)'


def timing_table(results: dict, rows=None) -> list:
    """Each timed row's s/iter beside its FLOPs, and what the equal-FLOP
    runs cost in seconds: the iterations equal wall clock would give (the
    symmim-visible row's seconds at the budget, the reference: no table
    without it)."""
    timing = results.get('timing', {})
    found = [(row, main_runs(results, row)) for row in timing]
    found = [(row, rs[0], timing[row]['s_per_iter']) for row, rs in found
             if rs and rs[0].get('flops_per_step')
             and timing[row].get('s_per_iter', 0) > 0]
    ref = next((r['iters'] * s for row, r, s in found
                if row == 'symmim-visible'), None)
    shown = [f for f in found if rows is None or f[0] in rows]
    if not shown or ref is None:
        return []
    lines = ['', '| timing (idle, in turns) | GFLOP/step | iters at equal '
             'FLOPs | s/iter | GFLOP/s | s at equal FLOPs | iters at equal '
             'wall clock |', '|---|---|---|---|---|---|---|']
    for row, r, s in shown:
        gflop = r['flops_per_step'] / 1e9
        lines.append(f'| {row} | {gflop:.1f} | {r["iters"]} | {s:.3f} | '
                     f'{gflop / s:.0f} | {r["iters"] * s:.0f} | '
                     f'{round(ref / s)} |')
    return lines


def figure(results: dict, rows, path: str = FIGURE) -> None:
    """Bars: each row's k-NN, linear (its better readout, chosen on
    validation) and 1 % fine-tune top-1 on the test split, mean over seeds,
    whiskers at min / max."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    main = [(row, main_runs(results, row)) for row in rows]
    main = [(row, rs) for row, rs in main if rs]
    keys = (('knn', 'k-NN'), ('linear', 'linear probe'),
            ('finetune', '1 % fine-tune'))

    reads = {row: readout(rs) for row, rs in main}

    def value(ev, key, row):
        return ev[key] if key == 'finetune' else first_readout(
            ev, f'{key}_{reads[row]}')
    fig, ax = plt.subplots(figsize=(max(6, 1.1 * len(main)), 4), dpi=120)
    width = 0.27
    for j, (key, label) in enumerate(keys):
        vals = [[value(r['evals']['test'], key, row) for r in rs]
                for row, rs in main]
        means = [statistics.mean(v) for v in vals]
        err = [[m - min(v) for m, v in zip(means, vals)],
               [max(v) - m for m, v in zip(means, vals)]]
        ax.bar([i + (j - 1) * width for i in range(len(main))], means, width,
               yerr=err, capsize=2, label=label)
    lo = min(value(r['evals']['test'], k, row) for row, rs in main
             for r in rs for k, _ in keys)
    ax.set_ylim(max(0, lo - 5), None)
    ax.set_xticks(range(len(main)), [f'{row} ({len(rs)} seed'
                                     + ('s' if len(rs) > 1 else '')
                                     + (', patch mean)' if reads[row] ==
                                        'mean' else ')')
                                     for row, rs in main], rotation=30,
                  ha='right', fontsize=8)
    ax.set_ylabel('top-1 (%), Fashion-MNIST test')
    budget = results.get('budget_flops', 0) / 1e12
    steps = results.get('protocol', {}).get('budget_steps', 0)
    ax.set_title(f'Equal training FLOPs ({budget:.1f} TFLOP: {steps:g} '
                 'symmim-visible steps): mean over seeds, whiskers min-max',
                 fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def write_report(results: dict, rows, doc: str = DOC,
                 figure_path: str = FIGURE, curves_path: str = CURVES,
                 curves_doc: str = CURVES_DOC, ratio_doc: str = RATIO_DOC,
                 ratio_path: str = RATIO_FIGURE) -> None:
    """Replace the docs' marked blocks with the tables (the 1x study's;
    the budget curves' once runs past 1x exist; the mask-ratio axis' once
    it has a run); draw the figures."""
    if any('mask_ratio' in r['knobs'] for r in results['runs']):
        fill_block(ratio_doc, '\n'.join(
            sra.ratio_table(results) + [''] + sra.search_table(results)
            + [''] + sra.compute_table(results)
            + ['', sra.plan_line(results)]))
        sra.figure(results, ratio_path)
    fill_block(doc, report_tables(results, rows))
    if any(main_runs(results, row) for row in rows):
        figure(results, rows, figure_path)
    if len(sc.budgets_of(results)) > 1:
        fill_block(curves_doc, '\n'.join(
            cr.curves_table(results)[1:] + cr.gap_table(results)
            + ['', sc.plan_line(results)]
            + cr.cost_table(results)))
        cr.curves_figure(results, curves_path)
