"""CheckpointHook (mmsymmim's) and the disk: a full disk says what it needs,
before training (a warning with the figures) and when a save does not fit
(one line; the previous checkpoint intact); a work dir moved to another disk
resumes from its own copy."""
import errno
import io
import os
import shutil
import types

import pytest
import torch
from mmengine.optim import OptimWrapper

from mmsymmim.engine.hooks import CheckpointHook
from mmsymmim.engine.hooks.checkpoint_hook import (
    CheckpointNoSpaceError,
    estimate_checkpoint_bytes,
)
from ...harness import (
    build_model,
    run_tool,
    tiny_cfg,
    train_cmd,
)
from ..disk_full import full_disk_on
from .fake_runner import FakeRunner, files, on_disk, save_iters


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
