"""study/small_scale.py (run.py small-scale): a smoke study end to end
and its resume, --streams, the protocol check and the writer lock."""
import json
import os.path as osp

import pytest

from study import report as rep
from study import small_scale as study
from study import stages as st


@pytest.mark.slow
def test_smoke_end_to_end_and_resume(fmnist_root, tmp_path, monkeypatch):
    """A trained row (MAE: the cheapest step) and raw pixels through a
    --smoke study: FLOP budget, training, both readouts, k-NN, linear probe,
    1 %-label fine-tune; then a rerun spawns nothing."""
    argv = ['--smoke', '--stage', 'seeds', '--rows', 'mae', 'raw-pixels',
            '--seeds', '0', '--work-dir', str(tmp_path), '--results',
            str(tmp_path / 'res.json')]
    res = study.main(argv)
    saved = json.loads((tmp_path / 'res.json').read_text())
    assert saved['protocol']['smoke'] and saved['protocol']['bank'] == 600
    runs = {r['row']: r for r in saved['runs']}
    assert set(runs) == {'mae', 'raw-pixels'}
    mae = runs['mae']
    assert set(mae['evals']['test']) == {'knn_cls', 'knn_mean', 'linear_cls',
                                         'linear_mean', 'finetune'}
    for v in mae['evals']['test'].values():
        assert 0 <= v <= 100
    assert mae['evals']['test']['linear_cls'] > 30  # chance: 10 %
    assert mae['iters'] == saved['budget_flops'] // mae['flops_per_step']
    assert osp.isfile(mae['checkpoint'])
    assert runs['raw-pixels']['iters'] == 0
    assert set(runs['raw-pixels']['evals']['test']) == {
        'knn_pixels', 'linear_pixels', 'finetune'}
    table = rep.report_tables(res, ['mae', 'raw-pixels'])
    assert '| mae | ViT 128x4 | default |' in table

    def no_spawn(job, args):
        raise AssertionError(f'{job["tag"]} ran again')

    monkeypatch.setattr(study, 'spawn', no_spawn)
    study.main(argv)
    assert json.loads((tmp_path / 'res.json').read_text()) == saved


def test_other_protocol_is_refused(tmp_path):
    path = tmp_path / 'res.json'
    path.write_text(json.dumps(dict(protocol=dict(budget_steps=1), runs=[])))
    with pytest.raises(SystemExit, match='another protocol'):
        study.main(['--smoke', '--rows', 'raw-pixels', '--results',
                    str(path), '--work-dir', str(tmp_path)])


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
