"""study/curves.py: the curves' plan keeps each row's 1x choice and
counts its required and spare runs apart."""


from study import curves as sc
from study import curves_report as cr
from study import small_scale as study
from study import stages as st
from .fakes import fake_results


def test_plan_keeps_each_rows_1x_choice(tmp_path):
    """The curves reuse the 1x choice: SymMIM's tuned lr x0.5, the random
    one-order row takes SymMIM's, MixMask's equal-steps run MoCo v2's
    seed-0 iterations; seed 0 of every curve before seed 1."""
    args = study.parse_args(['--smoke', '--work-dir', str(tmp_path),
                             '--budgets', '1', '3'])
    s = st.Study(fake_results(), args, spawn=None)
    wants = sc.wants(s)
    assert ('symmim-asymmetric', 0, {'lr': 0.5}, ['test'], 3) in wants
    assert ('symmim-random-asym', 0, {'lr': 0.5}, ['test'], 1) in wants
    assert ('mae', 2, {}, ['test'], 3) in wants
    mix = [w for w in wants if w[0] == 'mixmask-mocov2' and w[4] == 1]
    assert [w[2] for w in mix] == [dict(bn_splits=8, steps=353)] * 3
    assert not [w for w in wants if w[4] == 10]  # not in --budgets
    spare = len([p for p in sc.SPARE if p[0] in args.budgets])
    seeds = [w[1] for w in wants]
    assert spare == 1 and seeds[:-1] == sorted(seeds[:-1])
    assert wants[-1][0::4] == ('symmim-mask-token', 3) and wants[-1][1] == 0
    assert {r for _, r, _, _ in sc.PLAN} <= set(sc.CURVE_ROWS)
    assert {r for g in cr.GAPS for r in g[:2]} <= set(sc.CURVE_ROWS)
    args.budgets = [10.]
    tenx = sc.wants(st.Study(fake_results(), args, spawn=None))
    assert ('mae', 0, {'lr': 0.5}, ['test'], 10) in tenx  # lr x0.5 last
    assert tenx[-1][0] == 'mae' and tenx[0][:2] == ('symmim-asymmetric', 0)
    # the tuning stage leaves the row that follows another's tuning alone
    assert s.chosen('symmim-random-asym') == s.chosen('symmim-asymmetric')


def test_plan_line_counts_required_and_spare_runs_apart():
    res = fake_results()
    req = len(sc.REQUIRED)
    assert sc.plan_line(res) == (f'Plan: 0 of {req} required runs done, '
                                 f'0 of {len(sc.SPARE)} spare ones.')
    for seed, budget in ((0, 3), (2, 10)):  # a required run, a spare one
        res['runs'].append(dict(row='symmim-asymmetric', seed=seed,
                                knobs={'lr': 0.5}, budget=budget,
                                evals=dict(test={})))
    res['runs'].append(dict(row='mae', seed=0, knobs={}, budget=10,
                            evals=dict(val={})))  # no test: not done
    assert sc.plan_line(res) == (f'Plan: 1 of {req} required runs done, '
                                 f'1 of {len(sc.SPARE)} spare ones.')
