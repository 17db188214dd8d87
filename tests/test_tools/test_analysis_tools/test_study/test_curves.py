"""The study's budget curves: budgets as a list, runs that resume after an
interruption (their clock: test_clock.py), --streams, the plan and
the curves' report."""
import json
import os.path as osp
import sys
import time

import pytest
import torch

from ....harness import REPO

TOOLS = osp.join(REPO, 'tools/analysis_tools')
sys.path.insert(0, TOOLS)
from study import clock as clk  # noqa: E402
from study import curves as sc  # noqa: E402
from study import rows as sr  # noqa: E402
from study import small_scale as study  # noqa: E402
from study import stages as st  # noqa: E402


def tiny(row: str):
    """A study row at test size: batch 8, 64 images, width 32, 2 layers
    (ViT) or the row's ResNet-18 (ResNet)."""
    cfg = st.train_config(row, {}, 0, smoke=True)
    cfg.train_dataloader.update(batch_size=8, num_workers=1,
                                persistent_workers=True)
    cfg.train_dataloader.dataset.indices = 64
    m = cfg.model
    if sr.ROWS[row].family == 'vit':
        m.backbone.arch = dict(embed_dims=32, num_layers=2, num_heads=2,
                               feedforward_channels=64)
        m.neck.update(in_channels=32, hid_channels=64, out_channels=16)
        m.head.predictor.update(in_channels=16, hid_channels=64,
                                out_channels=16)
        m.mim_neck.update(embed_dim=32, decoder_embed_dim=16,
                          decoder_num_heads=2)
    else:
        m.backbone.depth = 18
        m.queue_len = 16
    return cfg


class Interrupt(Exception):
    pass


@pytest.mark.parametrize('row', ['symmim-asymmetric', 'mixmask-mocov2'])
@pytest.mark.slow
def test_interrupted_run_resumes_to_the_same_weights(row, tmp_path,
                                                     monkeypatch):
    """4 iterations in one go == 3 iterations cut short after the
    checkpoint at 2 (the session ended), then the run started again: it
    resumes from iter_2, not from zero, and ends bit-identical (online and
    EMA weights, optimiser state)."""
    from mmengine.runner import IterBasedTrainLoop
    monkeypatch.setattr(st, 'CKPT_EVERY', 2)
    cfg = tiny(row)
    st._train(cfg, str(tmp_path / 'one'), 'one', 4)

    run_iter = IterBasedTrainLoop.run_iter

    def cut(self, data_batch):
        if self._iter == 2 and not getattr(cut, 'done', False):
            cut.done = True
            raise Interrupt
        return run_iter(self, data_batch)

    monkeypatch.setattr(IterBasedTrainLoop, 'run_iter', cut)
    with pytest.raises(Interrupt):
        st._train(cfg, str(tmp_path / 'two'), 'two', 4)
    assert clk.resumed_at(str(tmp_path / 'two')) == 2
    seen = []
    monkeypatch.setattr(IterBasedTrainLoop, 'run_iter',
                        lambda self, b: seen.append(self._iter) or
                        run_iter(self, b))
    # the cut attempt's clock, made large: the resumed one must add to it
    cut = torch.load(tmp_path / 'two/iter_2.pth', weights_only=False)
    assert cut['run_clock']['since'] == 0 and cut['run_clock']['cpu_s'] > 0
    cut['run_clock'].update(wall_s=1000., cpu_s=2000.)
    torch.save(cut, tmp_path / 'two/iter_2.pth')
    t0, cpu0 = time.perf_counter(), clk.cpu_seconds()
    clock = st._train(cfg, str(tmp_path / 'two'), 'two', 4)
    took = dict(wall_s=time.perf_counter() - t0,
                cpu_s=clk.cpu_seconds() - cpu0)
    assert seen == [2, 3]  # resumed, not restarted
    end = torch.load(tmp_path / 'two/iter_4.pth',
                     weights_only=False)['run_clock']
    assert end['since'] == clock['since'] == 0
    for k, carried in (('wall_s', 1000.), ('cpu_s', 2000.)):
        assert carried < end[k] <= clock[k] <= carried + took[k], k
    a = torch.load(tmp_path / 'one/iter_4.pth', weights_only=True)
    b = torch.load(tmp_path / 'two/iter_4.pth', weights_only=True)
    assert a['state_dict'].keys() == b['state_dict'].keys()
    for k in a['state_dict']:
        assert torch.equal(a['state_dict'][k], b['state_dict'][k]), k
    for i, state in a['optimizer']['state'].items():
        for name, v in state.items():
            assert torch.equal(v, b['optimizer']['state'][i][name]), name
    assert not (tmp_path / 'two/iter_2.pth').exists()  # one kept


def test_finished_training_is_not_repeated(monkeypatch, tmp_path):
    """Killed during evaluation: the next start finds the last checkpoint
    and train.json and goes straight to evaluation."""
    calls = []

    def fake_train(cfg, work_dir, name, iters):
        calls.append(iters)
        (tmp_path / 't').mkdir(exist_ok=True)
        (tmp_path / 't' / f'iter_{iters}.pth').write_bytes(b'')
        return dict(wall_s=5.0, cpu_s=5.0, since=0)

    monkeypatch.setattr(st, '_train', fake_train)
    monkeypatch.setattr(st.sf, 'step_flops', lambda cfg, seed=0: 7_000)
    args = study.parse_args(['--smoke', '--work-dir', str(tmp_path)])
    job = dict(row='mae', seed=0, knobs={}, tag='t', budget_flops=70_000)
    first = st.train(job, args)
    assert st.train(job, args) == first and calls == [10]


@pytest.mark.slow
def test_budget_list_multiplies_the_iterations(monkeypatch, tmp_path):
    """At 3x a row trains 3x its 1x iterations (to rounding) and 3x the
    FLOPs, from each row's own FLOPs per step: no timing involved."""
    seen = {}

    def fake_train(cfg, work_dir, name, iters):
        seen[name] = iters
        return dict(wall_s=1.0, cpu_s=1.0, since=0)

    monkeypatch.setattr(st, '_train', fake_train)
    memo, count = {}, st.sf.step_flops  # one real count per row

    def step_flops(cfg, seed=0):
        key = cfg.model.type + str(cfg.model.get('symmetric'))
        return memo.setdefault(key, count(cfg, seed)) if key not in memo \
            else memo[key]

    monkeypatch.setattr(st.sf, 'step_flops', step_flops)
    args = study.parse_args(['--smoke', '--work-dir', str(tmp_path)])
    s = st.Study(dict(runs=[]), args, spawn=None)
    for row in ('symmim-asymmetric', 'mae'):
        out = {}
        for budget in (1, 3):
            job = s.job(row, 0, {}, ['test'], budget)
            assert job['budget_flops'] == int(s.budget_flops() * budget)
            out[budget] = st.train(job, args)
        i1, i3 = out[1]['iters'], out[3]['iters']
        assert 3 * i1 <= i3 < 3 * i1 + 3, (row, i1, i3)
        assert seen[f'{row}_s0_default_x3'] == i3
        assert out[3]['train_flops'] <= 3 * s.budget_flops()


def strip(rec: dict) -> dict:
    """A run's record without what differs between two identical runs
    (seconds, paths, threads)."""
    drop = ('train_s', 'eval_s', 's_per_iter', 'checkpoint', 'threads',
            'nice', 'train_cpu_s', 'eval_cpu_s')
    return {k: v for k, v in rec.items() if k not in drop}


@pytest.mark.slow
def test_two_streams_give_the_rows_of_one(fmnist_root, tmp_path):
    """--streams 2 (two niced processes at once, merged into one JSON)
    writes the same rows as one stream, in any order of finishing. (Raw
    pixels: the runs cost their process start and a smoke evaluation; the
    training inside a run is the same code either way.)"""
    def run(name, streams):
        res = tmp_path / f'{name}.json'
        study.main(['--smoke', '--stage', 'seeds', '--rows', 'raw-pixels',
                    '--seeds', '0', '1', '2', '--threads', '1',
                    '--streams', str(streams), '--work-dir',
                    str(tmp_path / name), '--results', str(res)])
        return json.loads(res.read_text())['runs']

    one, two = run('one', 1), run('two', 2)
    assert all(r['nice'] >= 10 for r in two)  # --nice's default
    assert all(r['eval_cpu_s'] > 0 for r in two)  # CPU time, measured
    key = lambda r: r['seed']  # noqa: E731
    one, two = (sorted(map(strip, x), key=key) for x in (one, two))
    assert len(one) == 3 and one == two


def fake_results():
    """1x results as the first study left them (no 'budget' field)."""
    def run(row, knobs, seed, evals, iters=400):
        return dict(row=row, seed=seed, knobs=knobs, iters=iters,
                    train_flops=iters * 3e10, evals=evals)
    val = dict(linear_cls=70., linear_mean=69., knn_cls=60., knn_mean=61.)
    runs = [run('symmim-asymmetric', {'lr': m} if m != 1 else {}, 0,
                dict(val=dict(val, linear_cls=70. + (m == 0.5))))
            for m in sr.LR_GRID]
    runs += [run('mae', {}, 0, dict(val=dict(val, linear_mean=80.))),
             run('mocov2', dict(bn_splits=8), 0,
                 dict(val=dict(knn_pool=1., linear_pool=1.)), iters=353)]
    return dict(runs=runs, budget_flops=12e12,
                resnet_recipe=dict(knobs=dict(bn_splits=8)))


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
    assert {r for g in sc.GAPS for r in g[:2]} <= set(sc.CURVE_ROWS)
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


def test_curves_report_and_figure(tmp_path):
    """1x points come from the first study's runs unchanged; the table
    lists each row at each budget, the figure is drawn, the main table
    stays 1x only."""
    from study import report as rep
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
        d.write_text(f'intro\n{rep.BEGIN}\n{rep.END}\n')
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
    table = sc.gap_table(res)
    assert table[3:] == ['| MAE - SymMIM default | 3x | +2.50 [+2.00, '
                         '+3.00] | -5.00 [-5.00, -5.00] | +1.00 [+1.00, '
                         '+1.00] | 0,1 / 0,1 |']
    # different seeds: the mean gap, then the same-seed one (seed 0 alone)
    run('mae', 0, 10, knn_mean=82., knn_cls=0., linear_mean=81.,
        linear_cls=0., ft=83.)
    run('symmim-asymmetric', 1, 10, knn_cls=76., linear_cls=80., ft=80.)
    assert sc.gap_table(res)[4] == (
        '| MAE - SymMIM default | 10x | +4.00 (same seeds: +2.00) | '
        '+1.00 (same seeds: +1.00) | +3.00 (same seeds: +3.00) | 0 / 0,1 |')
    # the encoder-input comparison: visible tokens minus mask tokens
    run('symmim-visible', 0, 3, knn_cls=74., linear_cls=77., ft=72.)
    run('symmim-mask-token', 0, 3, knn_cls=71., linear_cls=76., ft=72.5)
    assert sc.gap_table(res)[-1] == (
        '| visible tokens - mask tokens (both orders) | 3x | +3.00 | +1.00 '
        '| -0.50 | 0 / 0 |')
    # a spare lr x0.5 run against its row's curve (lr 0.5 -> 0.25)
    res['runs'].append(dict(
        row='symmim-asymmetric', seed=0, knobs={'lr': 0.25}, budget=10,
        evals=dict(test=dict(knn_cls=79., linear_cls=79., finetune=79.))))
    table = sc.gap_table(res)
    assert table[-2].startswith('| visible tokens - mask tokens')
    assert table[-1] == (
        '| symmim-asymmetric: lr x0.5 - its 1x lr | 10x | +1.00 (same seeds: '
        '-1.00) | -1.00 (same seeds: -1.00) | -1.00 (same seeds: -1.00) | '
        '0 / 0,1 |')


def test_a_second_writer_is_refused_a_report_is_not(tmp_path, monkeypatch):
    """While a study holds the results file, another study stage stops
    with one line naming the lock; the report (read-only) still runs."""
    from filelock import FileLock
    res = tmp_path / 'res.json'
    argv = ['--smoke', '--rows', 'raw-pixels', '--results', str(res),
            '--work-dir', str(tmp_path)]
    ran = []
    monkeypatch.setattr(st.Study, 'run_stage',
                        lambda self, stage: ran.append(stage))
    with FileLock(str(res) + '.lock'):
        with pytest.raises(SystemExit, match='another study process.*lock'):
            study.main(['--stage', 'curves', *argv])
        study.main(['--stage', 'report', *argv])
    assert ran == ['report']
