"""study/run.py, the studies' one entry point: each command reaches its
module's options, the script runs from any working directory, and every run
a study spawns goes through it (``run.py COMMAND --job ...``) from the repo
root."""
import importlib
import json
import os
import os.path as osp
import subprocess
import sys

import pytest

from study import jobs, paths, run
from study import small_scale as study
from study.transfer import command
from ....harness import REPO, run_tool


@pytest.mark.parametrize('name', list(run.COMMANDS))
def test_each_command_reaches_its_options(name, capsys, monkeypatch):
    """(``probe`` sets OMP_NUM_THREADS: in a copy of the environment.)"""
    monkeypatch.setattr(os, 'environ', {
        k: v for k, v in os.environ.items() if k != 'OMP_NUM_THREADS'})
    module = importlib.import_module('study.' + run.COMMANDS[name][0])
    assert callable(module.main)
    with pytest.raises(SystemExit) as e:
        run.main([name, '-h'])
    assert e.value.code == 0
    assert capsys.readouterr().out.startswith(f'usage: run.py {name} ')
    # the probe's one OpenMP thread, as before the move; others: unset
    assert os.environ.get('OMP_NUM_THREADS') == (
        '1' if name == 'probe' else None)


def test_commands_are_listed_and_unknown_ones_refused(capsys):
    with pytest.raises(SystemExit):
        run.main(['-h'])
    out = capsys.readouterr().out
    assert all(name in out for name in run.COMMANDS)
    with pytest.raises(SystemExit) as e:
        run.main(['small_scale_study'])
    assert e.value.code == 2
    assert "invalid choice: 'small_scale_study'" in capsys.readouterr().err


def test_the_script_imports_the_package_by_name(tmp_path):
    """``python tools/analysis_tools/study/run.py`` from another folder:
    the transfer study's plan, read from the committed results."""
    res = run_tool(paths.RUN, 'transfer', '--stage', 'plan', '--cache',
                   tmp_path, '--results', tmp_path / 'r.json', cwd=tmp_path)
    assert res.returncode == 0, res.out
    assert res.stdout.startswith('transfer study: 0/14 pretraining runs, '
                                 '0/42 fine-tunes in ')
    assert not (tmp_path / 'r.json').exists()  # the plan writes nothing


def fake_run(seen: list, out_flag: str):
    """``subprocess.run`` for a spawn: records the command, writes the
    job's result where ``out_flag`` says."""
    def call(cmd, cwd, **kw):
        seen.append((cmd, cwd))
        path = cmd[cmd.index(out_flag) + 1]
        with open(path, 'w') as f:
            json.dump(dict(done=True), f)
        return subprocess.CompletedProcess(cmd, 0, '', '')
    return call


def test_small_scale_runs_are_spawned_through_run_py(tmp_path, monkeypatch):
    seen = []
    monkeypatch.setattr(jobs.subprocess, 'run', fake_run(seen, '--job-out'))
    args = study.parse_args(['--smoke', '--work-dir', str(tmp_path)])
    job = dict(row='mae', seed=0, knobs={}, tag='mae_s0_default')
    (tmp_path / job['tag']).mkdir()
    assert study.spawn(job, args) == dict(done=True)
    (cmd, cwd), = seen
    assert cwd == REPO and cmd[:3] == [sys.executable, paths.RUN,
                                       'small-scale']
    assert cmd[3:7] == ['--job', json.dumps(job), '--job-out', osp.join(
        str(tmp_path), 'mae_s0_default', 'result.json')]
    child = study.parse_args(cmd[3:])  # the job's own options
    assert study.protocol(child) == study.protocol(args)
    assert (child.work_dir, child.results) == (args.work_dir, args.results)


def test_transfer_runs_are_spawned_through_run_py(tmp_path, monkeypatch):
    seen = []
    monkeypatch.setattr(jobs.subprocess, 'run',
                        fake_run(seen, '--job-out'))
    args = command.parse_args(['--smoke', '--cache', str(tmp_path)])
    job = dict(kind='finetune', tag='seg_mae_s0')
    assert command.spawn(job, args) == dict(done=True)
    (cmd, cwd), = seen
    assert cwd == REPO and cmd[:3] == [sys.executable, paths.RUN, 'transfer']
    assert cmd[cmd.index('--job-out') + 1] == osp.join(
        str(tmp_path), 'smoke', 'jobs', 'seg_mae_s0.json')
    child = command.parse_args(cmd[3:])  # a job keeps its parent's cache
    assert (child.cache, child.results, child.smoke) == (
        args.cache, args.results, True)
