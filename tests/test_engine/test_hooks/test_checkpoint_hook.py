"""CheckpointHook (mmsymmim's): no crash can take the last checkpoint with it.

An old checkpoint is deleted only after its successor is written and named in
``last_checkpoint``; max_keep_ckpts keeps its meaning otherwise. (The disk
running full: test_checkpoint_disk_space.py.)"""
import json
import os
import signal

import pytest
import torch
from mmengine.hooks import CheckpointHook as MMEngineCheckpointHook
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import init_default_scope

from mmpretrain.registry import HOOKS
from mmsymmim.engine.hooks import CheckpointHook
from ...harness import (
    MASK_TOKEN_DEMO,
    REPO,
    run,
    train_cmd,
)
from .fake_runner import FakeRunner, last_checkpoint, on_disk, save_iters


# --- registration ------------------------------------------------------------
@pytest.mark.parametrize('scope', ['mmpretrain', 'mmengine', 'mmdet', 'mmseg'])
def test_configs_get_it_in_every_scope(scope):
    """``type='CheckpointHook'`` (every config's default_hooks.checkpoint)
    builds ours, as the Runner builds hooks: from mmengine's registry,
    switched to the config's default scope."""
    init_default_scope(scope)
    hook = MMENGINE_HOOKS.build(dict(type='CheckpointHook', interval=1))
    assert type(hook) is CheckpointHook
    assert HOOKS.get('CheckpointHook') is CheckpointHook
    assert isinstance(hook, MMEngineCheckpointHook)


# --- order of save and delete, in process ------------------------------------
@pytest.mark.parametrize('max_keep', [1, 2, -1])
def test_keeps_the_newest_max_keep_ckpts(tmp_path, max_keep):
    runner = FakeRunner(tmp_path)
    hook = CheckpointHook(interval=1, by_epoch=False, max_keep_ckpts=max_keep)
    hook.before_train(runner)
    save_iters(hook, runner, [1, 2, 3, 4])
    names = [f'iter_{i}.pth' for i in (1, 2, 3, 4)]
    assert on_disk(tmp_path) == (names[-max_keep:] if max_keep > 0 else names)
    assert last_checkpoint(tmp_path) == 'iter_4.pth'
    # the same step saved twice (_save_checkpoint + _save_best_checkpoint)
    hook._save_checkpoint_with_step(runner, 4, dict(iter=4))
    assert on_disk(tmp_path) == (names[-max_keep:] if max_keep > 0 else names)


@pytest.mark.parametrize('hook_cls', [CheckpointHook, MMEngineCheckpointHook],
                         ids=['mmsymmim', 'stock_mmengine'])
def test_crash_while_saving_keeps_the_last_checkpoint(tmp_path, hook_cls):
    """max_keep_ckpts=1, the save of iter_2 dies: iter_1 must survive and
    ``last_checkpoint`` name it. Stock mmengine deleted iter_1 first (when
    this stock case starts failing, mmengine fixed it: drop ours)."""
    runner = FakeRunner(tmp_path, fail='iter_2.pth')
    hook = hook_cls(interval=1, by_epoch=False, max_keep_ckpts=1)
    hook.before_train(runner)
    save_iters(hook, runner, [1])
    with pytest.raises(RuntimeError, match='killed while saving'):
        save_iters(hook, runner, [2])
    assert last_checkpoint(tmp_path) == 'iter_1.pth'
    if hook_cls is CheckpointHook:
        assert on_disk(tmp_path) == ['iter_1.pth']
    else:
        assert on_disk(tmp_path) == []  # the bug of issue 15


def test_crash_between_save_and_delete_is_cleaned_on_resume(tmp_path):
    """Died after writing iter_2 and last_checkpoint, before deleting iter_1:
    the resume from iter_2 deletes iter_1 (iter_2 lists it as pending)."""
    runner = FakeRunner(tmp_path)
    hook = CheckpointHook(interval=1, by_epoch=False, max_keep_ckpts=1)
    hook.before_train(runner)
    save_iters(hook, runner, [1])

    def killed(step):
        raise RuntimeError('killed before deleting')

    hook._remove_checkpoint = killed
    with pytest.raises(RuntimeError, match='killed before deleting'):
        save_iters(hook, runner, [2])
    assert on_disk(tmp_path) == ['iter_1.pth', 'iter_2.pth']
    assert last_checkpoint(tmp_path) == 'iter_2.pth'
    stored = json.loads((tmp_path / 'iter_2.pth').read_text())
    assert stored == [1, 2]
    # --resume: the message hub comes from iter_2, then before_train
    resumed = FakeRunner(tmp_path, keep_ckpt_ids=stored)
    hook = CheckpointHook(interval=1, by_epoch=False, max_keep_ckpts=1)
    hook.before_train(resumed)
    assert on_disk(tmp_path) == ['iter_2.pth']
    save_iters(hook, resumed, [3])
    assert on_disk(tmp_path) == ['iter_3.pth']
    assert json.loads((tmp_path / 'iter_3.pth').read_text()) == [2, 3]


# --- tools/train.py killed during a save, then --resume ----------------------
CRASH_ON_SECOND_SAVE = '''"""Test only: the process is killed (SIGKILL) in its
second checkpoint save, as by the OOM killer or a node failure."""
import os
import signal

from mmengine.runner import Runner

_save_checkpoint = Runner.save_checkpoint
_calls = []


def save_checkpoint(self, *args, **kwargs):
    _calls.append(args)
    if len(_calls) == 2:
        os.kill(os.getpid(), signal.SIGKILL)
    return _save_checkpoint(self, *args, **kwargs)


Runner.save_checkpoint = save_checkpoint
'''


@pytest.mark.slow
def test_killed_during_save_resumes_from_last_good(fmnist_root, tmp_path):
    """Every iteration saved, max_keep_ckpts=1, killed while saving iter_2:
    iter_1 is on disk and named by last_checkpoint; --resume runs 2 and 3."""
    (tmp_path / 'crash_on_second_save.py').write_text(CRASH_ON_SECOND_SAVE)
    crashing = tmp_path / 'crashing_demo.py'
    crashing.write_text(
        f'_base_ = {MASK_TOKEN_DEMO!r}\n'
        "custom_imports = dict(imports=['mmsymmim', 'crash_on_second_save'],"
        ' allow_failed_imports=False)\n')
    work = tmp_path / 'work'
    every_iter = ['custom_hooks=[]', 'default_hooks.checkpoint.interval=1',
                  'default_hooks.checkpoint.max_keep_ckpts=1']
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(tmp_path), REPO, os.environ.get('PYTHONPATH', '')]))
    crashed = run(
        train_cmd(work, 3, config=str(crashing), options=every_iter),
        cwd=REPO, env=env, timeout=600)
    out = crashed.out
    assert crashed.returncode == -signal.SIGKILL, out[-4000:]
    assert 'Saving checkpoint at 2 iterations' in out
    assert on_disk(work) == ['iter_1.pth']
    assert (work / 'last_checkpoint').read_text() == str(work / 'iter_1.pth')

    resumed = run(train_cmd(work, 3, '--resume', options=every_iter),
                  cwd=REPO, timeout=600)
    out = resumed.out
    assert resumed.returncode == 0, out[-4000:]
    assert f'Load checkpoint from {work / "iter_1.pth"}' in out
    assert 'resumed' in out.lower()
    assert 'Iter(train) [2/3]' in out and 'Iter(train) [3/3]' in out
    assert on_disk(work) == ['iter_3.pth']
    assert (work / 'last_checkpoint').read_text() == str(work / 'iter_3.pth')
    state = torch.load(work / 'iter_3.pth', weights_only=True)
    assert state['meta']['iter'] == 3
    assert state['message_hub']['runtime_info']['keep_ckpt_ids'] == [2, 3]
