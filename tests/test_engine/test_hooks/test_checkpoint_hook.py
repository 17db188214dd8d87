"""CheckpointHook (mmsymmim's): no crash can take the last checkpoint with it.

An old checkpoint is deleted only after its successor is written and named in
``last_checkpoint``; max_keep_ckpts keeps its meaning otherwise. A full disk
says what it needs, before training and when a save does not fit."""
import errno
import io
import json
import os
import os.path as osp
import shutil
import signal
import types
import uuid

import pytest
import torch
from mmengine.fileio import put
from mmengine.hooks import CheckpointHook as MMEngineCheckpointHook
from mmengine.logging import MessageHub, MMLogger
from mmengine.optim import OptimWrapper
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import init_default_scope

from mmpretrain.registry import HOOKS
from mmsymmim.engine.hooks import CheckpointHook
from mmsymmim.engine.hooks.checkpoint_hook import (
    CheckpointNoSpaceError,
    estimate_checkpoint_bytes,
)
from ...harness import (
    MASK_TOKEN_DEMO,
    REPO,
    build_model,
    run,
    run_tool,
    tiny_cfg,
    train_cmd,
)
from ..disk_full import full_disk_on


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
class FakeRunner:
    """What CheckpointHook uses of a Runner; ``save_checkpoint`` writes (as
    mmengine does: ``LocalBackend.put``, atomic) a JSON file holding the
    ``keep_ckpt_ids`` the checkpoint would carry, padded with ``pad`` spaces
    (a checkpoint's bulk), and raises on ``fail`` (a crash while saving). A
    Linear(4, 4) with AdamW is its model; ``log_file`` gets its log."""

    def __init__(self, work_dir, fail=None, keep_ckpt_ids=None, pad=0,
                 log_file=None):
        self.work_dir = str(work_dir)
        self.rank, self.iter, self.epoch = 0, 0, 0
        name = uuid.uuid4().hex
        self.logger = MMLogger.get_instance(
            name, log_file=log_file and str(log_file))
        self.message_hub = MessageHub.get_instance(name)
        if keep_ckpt_ids is not None:  # as a resume loads it
            self.message_hub.update_info('keep_ckpt_ids', keep_ckpt_ids)
        self.fail, self.pad = fail, pad
        self.model = torch.nn.Linear(4, 4)
        self.optim_wrapper = OptimWrapper(
            torch.optim.AdamW(self.model.parameters()))
        self.hooks = []

    def save_checkpoint(self, out_dir, filename, *args, **kwargs):
        if filename == self.fail:
            raise RuntimeError(f'killed while saving {filename}')
        ids = json.dumps(self.message_hub.get_info('keep_ckpt_ids'))
        put((ids + ' ' * self.pad).encode(), osp.join(out_dir, filename))


def save_iters(hook, runner, iters):
    for it in iters:
        runner.iter = it - 1
        hook._save_checkpoint(runner)


def on_disk(work_dir):
    return sorted(p.name for p in work_dir.glob('iter_*.pth'))


def last_checkpoint(work_dir):
    return osp.basename((work_dir / 'last_checkpoint').read_text())


def files(work_dir):
    """Every file of ``work_dir`` with its bytes (temporaries included)."""
    return {p.name: p.read_bytes() for p in work_dir.iterdir() if p.is_file()}


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


# --- disk space --------------------------------------------------------------
def disk_with_free(monkeypatch, free):
    """``shutil.disk_usage`` reports ``free`` bytes free, everywhere."""
    usage = types.SimpleNamespace(total=10 * 2**30, used=10 * 2**30 - free,
                                  free=free)
    monkeypatch.setattr(shutil, 'disk_usage', lambda path: usage)


def test_full_disk_says_what_it_needs(tmp_path, monkeypatch):
    """max_keep_ckpts=1, the save of iter_2 runs out of space half way: one
    line (folder, size, free space, previous checkpoint intact, --resume),
    the traceback in the log, iter_1 and last_checkpoint as they were, no
    temporary left."""
    work = tmp_path / 'work'
    work.mkdir()
    runner = FakeRunner(work, pad=3 * 2**20, log_file=tmp_path / 'run.log')
    hook = CheckpointHook(interval=1, by_epoch=False, max_keep_ckpts=1)
    hook.before_train(runner)
    save_iters(hook, runner, [1])
    before = files(work)
    assert sorted(before) == ['iter_1.pth', 'last_checkpoint']
    full_disk_on(monkeypatch, 'iter_2.pth')
    disk_with_free(monkeypatch, 2 * 2**20)
    with pytest.raises(CheckpointNoSpaceError) as err:
        save_iters(hook, runner, [2])
    assert err.value.errno == errno.ENOSPC
    assert str(err.value) == (
        f'No space left on device in {work}: iter_2.pth (3.0 MiB) did not '
        f'fit (2.0 MiB free). The previous checkpoint {work / "iter_1.pth"} '
        f'is intact and last_checkpoint names it: free 1.0 MiB or more and '
        f'run the same command with --resume to continue from it.')
    assert files(work) == before
    log = (tmp_path / 'run.log').read_text()
    assert 'Saving iter_2.pth failed' in log and 'Traceback' in log
    assert f"OSError: [Errno 28] No space left on device: '{work}" in log


@pytest.mark.parametrize('resumed', [False, True], ids=['fresh', 'resumed'])
def test_free_space_warning(tmp_path, monkeypatch, resumed):
    """Before training, one warning when the folder's free space is below
    two checkpoints (one when resuming: the previous one is on disk), with
    the figures; none with enough space."""
    if resumed:
        (tmp_path / 'iter_1.pth').write_bytes(b'previous')
    log = tmp_path / 'run.log'
    runner = FakeRunner(tmp_path, keep_ckpt_ids=[1] if resumed else None,
                        log_file=log)
    size = estimate_checkpoint_bytes(runner)
    # Linear(4, 4) and two AdamW moments, plus 64 KiB for the rest
    assert size == 3 * 20 * 4 + 64 * 1024
    need = size if resumed else 2 * size
    said = []
    for free in (need, need - 1):
        disk_with_free(monkeypatch, free)
        CheckpointHook(interval=1, by_epoch=False,
                       max_keep_ckpts=1).before_train(runner)
        said.append([line for line in log.read_text().splitlines()
                     if ' free in ' in line])
    enough, short = said
    assert enough == [] and len(short) == 1
    free_said = '64.2 KiB' if resumed else '128.5 KiB'
    assert short[0].endswith(
        f'WARNING - Only {free_said} free in {tmp_path}: a checkpoint of this '
        f'model takes about 64.2 KiB and ' +
        ('the next save needs room for one more (the previous one is already '
         'there): 64.2 KiB.' if resumed else 'a save needs room for two (the '
         'new one is written before the old one is deleted): 128.5 KiB.') +
        ' Free 1 B or more there, or train on a larger disk (--work-dir), or '
        'a save will fail for lack of space.')


def test_estimate_is_close_to_a_real_checkpoint():
    """The estimate before any step (AdamW's state not yet created) against
    the model and optimizer state a checkpoint holds after one."""
    model = build_model(tiny_cfg())
    optim = OptimWrapper(torch.optim.AdamW(
        [p for p in model.parameters() if p.requires_grad]))
    runner = types.SimpleNamespace(model=model, optim_wrapper=optim, hooks=[])
    estimate = estimate_checkpoint_bytes(runner)
    for p in model.parameters():
        if p.requires_grad:
            p.grad = torch.ones_like(p)
    optim.step()
    # now measured: AdamW's moments, and its step counters
    assert 0 < estimate_checkpoint_bytes(runner) - estimate < 1024
    real = len(_serialized({'state_dict': model.state_dict(),
                            'optimizer': optim.state_dict()}))
    assert 0.95 * real < estimate < 1.1 * real, (estimate, real)


def _serialized(obj) -> bytes:
    f = io.BytesIO()
    torch.save(obj, f)
    return f.getvalue()


def test_moved_work_dir_rebases_the_best_checkpoint(tmp_path):
    """A resumed best-checkpoint path of the old place would be deleted when
    a new best is saved: it is read in this run's folder."""
    runner = FakeRunner(tmp_path)
    runner.message_hub.update_info('best_ckpt', '/old/place/best_iter_1.pth')
    hook = CheckpointHook(interval=1, by_epoch=False, save_best='loss')
    hook.before_train(runner)
    assert hook.best_ckpt_path == str(tmp_path / 'best_iter_1.pth')


@pytest.mark.slow
def test_full_disk_then_moved_work_dir_resumes(fmnist_root, tmp_path,
                                               monkeypatch):
    """tools/train.py as a user meets it: the disk fills on the second save
    (one line, iter_1 kept); the work dir is copied to a bigger disk and the
    original deleted; --resume in the copy continues from its own iter_1
    (mmengine: FileNotFoundError for the old path) and last_checkpoint names
    the copy's files from then on."""
    old, new = tmp_path / 'scratch' / 'work', tmp_path / 'bigger' / 'work'
    every_iter = ['custom_hooks=[]', 'default_hooks.checkpoint.interval=1',
                  'default_hooks.checkpoint.max_keep_ckpts=1']
    with monkeypatch.context() as m:
        full_disk_on(m, 'iter_2.pth')
        full = run_tool(*train_cmd(old, 2, options=every_iter)[1:])
    assert full.returncode == 1, full.out[-4000:]
    line = full.stderr.strip().splitlines()[-1]
    assert line.startswith(f'No space left on device in {old}: iter_2.pth')
    assert f'The previous checkpoint {old / "iter_1.pth"} is intact' in line
    assert 'Traceback' in full.out and 'Errno 28' in full.out
    assert on_disk(old) == ['iter_1.pth']
    assert not [p for p in os.listdir(old) if p.endswith('.tmp')]

    shutil.copytree(old, new)
    shutil.rmtree(old)
    resumed = run_tool(*train_cmd(new, 2, '--resume', options=every_iter)[1:])
    assert resumed.returncode == 0, resumed.out[-4000:]
    out = resumed.out
    assert (f'names {old / "iter_1.pth"}, which does not exist: resuming '
            f"from the work dir's own copy {new / 'iter_1.pth'}") in out
    assert f'Load checkpoint from {new / "iter_1.pth"}' in out
    assert 'Iter(train) [2/2]' in out and 'Iter(train) [1/2]' not in out
    assert on_disk(new) == ['iter_2.pth']
    assert (new / 'last_checkpoint').read_text() == str(new / 'iter_2.pth')
    state = torch.load(new / 'iter_2.pth', weights_only=True)
    assert state['meta']['iter'] == 2
