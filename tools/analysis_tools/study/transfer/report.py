"""Tables and figure of the transfer study (run.py transfer ``--stage
report``): markdown between the ``<!-- study:begin -->`` / ``<!-- study:end
-->`` markers of docs/transfer_study.md, and docs/transfer_study.png."""
import os.path as osp
import statistics

from .. import paths
from ..tables import cell, fill_block
from .plan import PLAN

DOC = osp.join(paths.REPO, 'docs/transfer_study.md')
FIGURE = osp.join(paths.REPO, 'docs/transfer_study.png')
# (task, metric key, label)
METRICS = (('det', 'coco/bbox_mAP', 'box AP'),
           ('det', 'coco/segm_mAP', 'mask AP'),
           ('seg', 'mIoU', 'mIoU'))
# the comparisons a reviewer asks for: (row, minus row, what it asks)
GAPS = (('symmim-asymmetric', 'random-init', 'SymMIM default - random init'),
        ('mae', 'random-init', 'MAE - random init'),
        ('mae', 'symmim-asymmetric', 'MAE - SymMIM default'),
        ('symmim-random-asym', 'symmim-asymmetric',
         'random 50 % mask - checkerboard'),
        ('mocov3', 'symmim-asymmetric', 'MoCo v3 - SymMIM default'),
        ('symmim-asymmetric-ema', 'symmim-asymmetric',
         'SymMIM momentum - online encoder'),
        ('mixmask-mocov2', 'random-init-resnet',
         'MixMask - random init (ResNet)'),
        ('mocov2', 'random-init-resnet', 'MoCo v2 - random init (ResNet)'),
        ('mixmask-mocov2', 'mocov2', 'MixMask - MoCo v2'))


def values(results: dict, row: str, task: str, key: str) -> dict:
    """``{seed: value}`` of a row's fine-tunes on ``task``."""
    return {r['seed']: r['metrics'][key] for r in results['runs']
            if r['row'] == row and r['task'] == task and key in r['metrics']}


def results_table(results: dict) -> list:
    lines = ['| row | encoder | ' + ' | '.join(m[2] for m in METRICS)
             + ' | seeds |', '|' + '---|' * (len(METRICS) + 3)]
    for row, plan in PLAN.items():
        vals = [values(results, row, t, k) for t, k, _ in METRICS]
        if not any(vals):
            continue
        seeds = sorted(set().union(*vals))
        lines.append(f'| {plan.label} | {plan.family} | ' + ' | '.join(
            cell([v[s] for s in sorted(v)]) for v in vals)
            + f' | {",".join(map(str, seeds))} |')
    return lines


def gap_cell(a: dict, b: dict) -> str:
    """``mean of the same-seed differences [their min, max]`` over the seeds
    both rows have (the bracket where two or more pair); empty where none
    pair, so a row's extra seeds never enter a gap."""
    paired = [a[s] - b[s] for s in sorted(a.keys() & b.keys())]
    if not paired:
        return ''
    out = f'{statistics.mean(paired):+.2f}'
    if len(paired) > 1:
        out += f' [{min(paired):+.2f}, {max(paired):+.2f}]'
    return out


def gap_table(results: dict) -> list:
    lines = ['| gap in points | ' + ' | '.join(m[2] for m in METRICS)
             + ' |', '|' + '---|' * (len(METRICS) + 1)]
    for row, minus, what in GAPS:
        cells = [gap_cell(values(results, row, t, k),
                          values(results, minus, t, k))
                 for t, k, _ in METRICS]
        if any(cells):
            lines.append(f'| {what} | ' + ' | '.join(cells) + ' |')
    if len(lines) == 2:
        return []
    return lines + ['', 'A gap is the mean of the same-seed differences over '
                    'the seeds both rows have; [min, max] of those '
                    'differences where two or more pair.']


def cost_line(results: dict) -> str:
    pre = sum(r.get('train_cpu_s', 0) for r in results['pretrain'])
    ft = sum(r.get('train_cpu_s', 0) + r.get('test_cpu_s', 0)
             for r in results['runs'])
    return (f'Cost so far: {len(results["pretrain"])} pretraining runs, '
            f'{pre / 3600:.1f} CPU h; {len(results["runs"])} fine-tunes, '
            f'{ft / 3600:.1f} CPU h (training and test).')


def figure(results: dict, path: str = FIGURE) -> None:
    """One panel per metric, a bar per row (seed mean), the seeds as
    dots."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    rows = [r for r in PLAN if any(values(results, r, t, k)
                                   for t, k, _ in METRICS)]
    fig, axes = plt.subplots(1, len(METRICS), figsize=(13, 4.2), dpi=110)
    for ax, (task, key, label) in zip(axes, METRICS):
        for i, row in enumerate(rows):
            v = values(results, row, task, key)
            if not v:
                continue
            colour = 'tab:blue' if PLAN[row].family == 'vit' else 'tab:orange'
            ax.bar(i, statistics.mean(v.values()), color=colour, alpha=0.6)
            ax.plot([i] * len(v), list(v.values()), 'k.', ms=4)
        ax.set_xticks(range(len(rows)), [PLAN[r].label for r in rows],
                      rotation=60, ha='right', fontsize=7)
        ax.set_title(label, fontsize=10)
        ax.grid(alpha=0.3, axis='y')
    axes[0].set_ylabel('test scenes (%)')
    fig.suptitle('Transfer to Fashion-MNIST scenes (bars: seed means, dots: '
                 'seeds; blue ViT, orange ResNet)', fontsize=10)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def write_report(results: dict, doc: str = DOC,
                 figure_path: str = FIGURE) -> None:
    body = results_table(results) + [''] + gap_table(results) + [
        '', cost_line(results)]
    fill_block(doc, '\n'.join(body))
    if results['runs']:
        figure(results, figure_path)
