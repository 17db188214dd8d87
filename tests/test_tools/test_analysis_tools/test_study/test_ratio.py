"""study/ratio.py: fewer visible tokens cost fewer FLOPs a step; the plan
lists the new runs."""
import json
import os.path as osp
from argparse import Namespace

import pytest

from study import flops as sf
from study import knobs as kn
from study import ratio as sra
from study import rows as sr
from study import training as trn
from ....harness import REPO

RESULTS = osp.join(REPO, 'docs/small_scale_study_flops.json')


@pytest.mark.parametrize('row,ratios', [('mae', (0.5, 0.75, 0.9)),
                                        ('symmim-random-asym',
                                         (0.25, 0.5, 0.75))])
@pytest.mark.slow
def test_fewer_visible_tokens_fewer_flops(fmnist_root, row, ratios):
    flops = [sf.step_flops(trn.train_config(row, kn.ratio_knobs(row, r), 0,
                                           True)) for r in ratios]
    assert flops[0] > flops[1] > flops[2], flops


def test_plan_lists_the_new_runs():
    results = json.load(open(RESULTS))
    req = sra.required()
    assert len(req) == 30 and req[0][2] == req[9][2] == 0  # seed-major
    new = [p for p in req if p[3] != kn.OWN_RATIO[p[1]]]
    assert len(new) == 24
    study = Namespace(args=Namespace(budgets=[1.], seeds=[0, 1, 2]),
                      rows=list(sr.ROWS), results=results)
    wants = sra.wants(study)
    assert len(wants) == 30
    assert ('mae', 0, {'mask_ratio': 0.9}, ['test'], 1) in wants
    assert ('symmim-random-asym', 2, {'lr': 0.5, 'mask_ratio': 0.25},
            ['test'], 1) in wants  # SymMIM default's tuned lr


def test_compute_table_pairs_seeds_at_both_budgets():
    """The 3x gap is taken over the seeds holding both extremes at 3x,
    the 1x gap over the same seeds; none of either: no table."""
    results = json.load(open(RESULTS))
    results['runs'] = [r for r in results['runs']
                       if sra.budget_of(r) == 1]
    assert sra.compute_table(results) == []
    read = sra.readouts(results)['mae']
    best, worst = sra.extremes(results, 'mae', read)
    for seed, ratio, knn in ((0, best, 90.0), (0, worst, 80.0),
                             (1, best, 70.0)):  # seed 1 lacks the worst
        run = dict(sra.runs_at(results, 'mae', ratio)[seed], budget=3)
        run['evals'] = {'test': {f'knn_{read}': knn}}
        results['runs'].append(run)
    table = sra.compute_table(results)
    assert len(table) == 2 + 3 and table[2].endswith(' | 0 |')
    one_x = (sra.value(sra.runs_at(results, 'mae', best)[0], 'knn', read)
             - sra.value(sra.runs_at(results, 'mae', worst)[0], 'knn',
                         read))
    cells = table[2].split(' | ')
    assert cells[2] == f'{best:g} / {worst:g}'
    assert cells[3] == f'{one_x:+.2f}' and cells[4] == '+10.00'


def test_plan_line_counts_the_3x_extremes():
    """1x only: the 1x count; then the 3x extremes (2 methods x best and
    worst x seeds 0-1) counted apart."""
    results = json.load(open(RESULTS))
    results['runs'] = [r for r in results['runs']
                       if sra.budget_of(r) == 1]
    assert sra.plan_line(results) == 'Ratio axis: 30 of 30 1x runs done; ' \
        '0 of 8 3x runs (best and worst 1x ratio, seeds 0-1).'
    best, _ = sra.extremes(results, 'mae', sra.readouts(results)['mae'])
    run = dict(sra.runs_at(results, 'mae', best)[1], budget=3)
    results['runs'].append(run)
    assert sra.plan_line(results).endswith('; 1 of 8 3x runs (best and '
                                           'worst 1x ratio, seeds 0-1).')
    results['runs'] = [r for r in results['runs'] if r['row'] != 'mae']
    assert sra.plan_line(results) == 'Ratio axis: 15 of 30 1x runs done; ' \
        '0 of 4 3x runs (best and worst 1x ratio, seeds 0-1).'
    results['runs'] = [r for r in results['runs']
                       if r['row'] != 'symmim-random-asym']
    assert sra.plan_line(results) == 'Ratio axis: 0 of 30 1x runs done.'
