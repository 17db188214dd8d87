"""study/curves_report.py: the curves' table, cost table and figure; the
gap table pairs seeds and skips missing budgets."""


from study import curves as sc
from study import curves_report as cr
from study import report as rep
from study import tables as tb
from .fakes import fake_results


def test_curves_report_and_figure(tmp_path):
    """1x points come from the first study's runs unchanged; the table
    lists each row at each budget, the figure is drawn, the main table
    stays 1x only."""
    res = fake_results()
    for seed in (0, 1):
        for budget, top in ((1, 70.), (3, 75.), (10, 78.)):
            res['runs'].append(dict(
                row='symmim-asymmetric', seed=seed, knobs={'lr': 0.5},
                iters=int(400 * budget), budget=budget,
                train_flops=400 * budget * 3e10, train_s=1800.,
                eval_s=1800., train_cpu_s=1700., eval_cpu_s=1700.,
                evals=dict(test=dict(knn_cls=top + seed, knn_mean=top,
                                     linear_cls=top, linear_mean=top - 1,
                                     finetune=top - 2))))
    res['runs'][-1]['resumed_at'] = 200  # resumed before the clock
    res['runs'][-2].update(resumed_at=400, timed_since=0)  # with the clock
    for r in res['runs'][-6:]:
        if r['budget'] == 1:
            del r['budget']  # as the first study wrote them
    doc, curves_doc = tmp_path / 'doc.md', tmp_path / 'curves.md'
    for d in (doc, curves_doc):
        d.write_text(f'intro\n{tb.BEGIN}\n{tb.END}\n')
    png = tmp_path / 'curves.png'
    rep.write_report(res, ['symmim-asymmetric'], str(doc),
                     str(tmp_path / 'bars.png'), str(png), str(curves_doc))
    table = curves_doc.read_text()
    assert '| symmim-asymmetric | 3x | lr=0.5 | 1200 | 36.0 | cls | ' \
        '75.50 ± 0.71 (75.00, 76.00) | 75.00 ± 0.00' in table
    assert '| symmim-asymmetric | 1x | lr=0.5 | 400 | 12.0 |' in table
    # seeds 0-1 of SymMIM at 3x and 10x (the fake 1x tuning picks lr 0.5)
    assert f'Plan: 4 of {len(sc.REQUIRED)} required runs done, 0 of ' \
        f'{len(sc.SPARE)} spare ones.' in table
    assert '| 3x | 2 | 2400 | 2.0 | 1.9 (2) |' in table
    assert '| all | 11 | 13153 | 6.0 | 4.7 (5) |' in table  # CPU: whole runs
    main = [line for line in doc.read_text().splitlines()
            if line.startswith('| symmim-asymmetric | ViT')]
    assert len(main) == 1 and '| ViT 128x4 | lr=0.5 | 400 |' in main[0]
    assert png.read_bytes()[:4] == b'\x89PNG'
    pts = sc.points(res, 'symmim-asymmetric', 'knn', 'cls')
    assert [round(p[0]) for p in pts] == [12, 36, 120]
    assert [p[1] for p in pts] == [70.5, 75.5, 78.5]


def test_gap_table_pairs_seeds_and_skips_missing_budgets():
    """A comparison's gap is the difference of the seed means, bracketed
    by the per-seed differences; each row on its own readout (SymMIM the
    class token, MAE the patch mean); a budget one row lacks is left out."""
    res = fake_results()
    mae = next(r for r in res['runs'] if r['row'] == 'mae')
    mae['evals']['test'] = {}  # readouts: chosen on the 1x seed-0 run

    def run(row, seed, budget, **test):
        res['runs'].append(dict(row=row, seed=seed, knobs=(
            {'lr': 0.5} if row != 'mae' else {}), iters=400 * budget,
            budget=budget, train_flops=budget * 12e12, evals=dict(
                test=dict(test, finetune=test.pop('ft')))))

    for seed in (0, 1):
        run('symmim-asymmetric', seed, 3, knn_cls=75. + seed, knn_mean=0.,
            linear_cls=75., linear_mean=0., ft=73.)
        run('mae', seed, 3, knn_mean=77. + 2 * seed, knn_cls=0.,
            linear_mean=70., linear_cls=99., ft=74.)
    run('symmim-asymmetric', 0, 10, knn_cls=80., linear_cls=80., ft=80.)
    table = cr.gap_table(res)
    assert table[3:] == ['| MAE - SymMIM default | 3x | +2.50 [+2.00, '
                         '+3.00] | -5.00 [-5.00, -5.00] | +1.00 [+1.00, '
                         '+1.00] | 0,1 / 0,1 |']
    # different seeds: the mean gap, then the same-seed one (seed 0 alone)
    run('mae', 0, 10, knn_mean=82., knn_cls=0., linear_mean=81.,
        linear_cls=0., ft=83.)
    run('symmim-asymmetric', 1, 10, knn_cls=76., linear_cls=80., ft=80.)
    assert cr.gap_table(res)[4] == (
        '| MAE - SymMIM default | 10x | +4.00 (same seeds: +2.00) | '
        '+1.00 (same seeds: +1.00) | +3.00 (same seeds: +3.00) | 0 / 0,1 |')
    # the encoder-input comparison: visible tokens minus mask tokens
    run('symmim-visible', 0, 3, knn_cls=74., linear_cls=77., ft=72.)
    run('symmim-mask-token', 0, 3, knn_cls=71., linear_cls=76., ft=72.5)
    assert cr.gap_table(res)[-1] == (
        '| visible tokens - mask tokens (both orders) | 3x | +3.00 | +1.00 '
        '| -0.50 | 0 / 0 |')
    # a spare lr x0.5 run against its row's curve (lr 0.5 -> 0.25)
    res['runs'].append(dict(
        row='symmim-asymmetric', seed=0, knobs={'lr': 0.25}, budget=10,
        evals=dict(test=dict(knn_cls=79., linear_cls=79., finetune=79.))))
    table = cr.gap_table(res)
    assert table[-2].startswith('| visible tokens - mask tokens')
    assert table[-1] == (
        '| symmim-asymmetric: lr x0.5 - its 1x lr | 10x | +1.00 (same seeds: '
        '-1.00) | -1.00 (same seeds: -1.00) | -1.00 (same seeds: -1.00) | '
        '0 / 0,1 |')
