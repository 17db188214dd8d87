"""study/stages.py: the diagnosis' off-budget step-count runs, trained
at MAE's iterations and seeded on test."""
import os
import os.path as osp

import pytest

from study import report as rep
from study import small_scale as study
from study import stages as st
from study import tables as tb
from study import training as trn


def test_steps_diagnosis_trains_maes_iterations(monkeypatch, tmp_path):
    """The off-budget diagnosis: SymMIM (symmetric=False) at the iterations
    of MAE's seed-0 run, whatever the budget says."""
    seen = []

    def fake_train(cfg, work_dir, name, iters):
        seen.append((name, iters))
        os.makedirs(work_dir, exist_ok=True)  # the checkpoint, as mmengine
        open(osp.join(work_dir, f'iter_{iters}.pth'), 'wb').close()
        return dict(wall_s=1.0, cpu_s=1.0, since=0)

    monkeypatch.setattr(trn, '_train', fake_train)
    monkeypatch.setattr(trn.sf, 'step_flops', lambda cfg, seed=0: 7_000)
    monkeypatch.setattr(st.se, 'evaluate', lambda res, need, args: {
        e: dict(knn_cls=1., linear_cls=1., finetune=1.) for e in need})
    args = study.parse_args(['--smoke', '--work-dir', str(tmp_path),
                             '--rows', 'symmim-asymmetric'])
    import mmsymmim.datasets
    monkeypatch.setattr(mmsymmim.datasets, 'check_train_data', lambda cfg: 0)
    ckpt = tmp_path / 'mae.pth'
    ckpt.write_bytes(b'')
    mae = dict(row='mae', seed=0, knobs={}, iters=913, checkpoint=str(ckpt),
               evals=dict(val=dict(knn_cls=1., linear_cls=1.)))
    res = dict(runs=[mae], budget_flops=70_000)
    spawn = lambda job, a: st.run_job(job, a)  # noqa: E731
    st.Study(res, args, spawn).stage_diagnose()
    # the tune stage never ran: symmim-asymmetric at its default lr
    assert ('symmim-asymmetric_s0_steps=913', 913) in seen
    assert ('symmim-asymmetric_s0_default', 10) in seen  # 70,000 // 7,000
    run = next(r for r in res['runs'] if r['knobs'] == dict(steps=913)
               and r['seed'] == 0)
    assert run['iters'] == 913
    assert set(run['evals']) == {'val', 'val_ft', 'test'}
    # then seeded on test (seed 0's checkpoint reused, 1 and 2 trained)
    assert [n for n, i in seen if i == 913] == [
        'symmim-asymmetric_s0_steps=913', 'symmim-asymmetric_s1_steps=913',
        'symmim-asymmetric_s2_steps=913']
    # kept out of the main table, shown in its own beside MAE
    assert tb.main_runs(res, 'symmim-asymmetric') == []  # tested: steps only
    table = '\n'.join(rep.steps_table(res))
    assert '| symmim-asymmetric at 913 steps | 913 |' in table
    assert '| 0,1,2 |' in table and '| mae | 913 |' not in table  # no test
    # without MAE's run and without mae in --rows: skipped, MAE not trained
    # (a fresh work dir: a finished training on disk is not repeated)
    res = dict(runs=[], budget_flops=70_000)
    args.work_dir = str(tmp_path / 'fresh')
    seen.clear()
    st.Study(res, args, spawn).stage_diagnose()
    assert seen == [('symmim-asymmetric_s0_default', 10)]
    with pytest.raises(ValueError, match="'steps' must be a positive int"):
        trn.train(dict(row='symmim-asymmetric', seed=0,
                       knobs=dict(steps='mae'), tag='t', budget_flops=1),
                  args)
