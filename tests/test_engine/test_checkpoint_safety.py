"""mmsymmim.engine.checkpoint_safety: atomic writes, architecture guard,
relocatable work dirs."""
import errno
import os
import uuid

import mmengine.runner.runner as runner_module
import pytest
import torch
from mmengine.fileio.backends.local_backend import LocalBackend
from mmengine.logging import MMLogger
from mmengine.runner.checkpoint import load_checkpoint

from mmpretrain.registry import MODELS
from .disk_full import full_disk_on


def test_atomic_write_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / 'iter_2.pth'
    torch.save({'w': torch.ones(3)}, path)
    backend = LocalBackend()

    def killed(fd):
        raise KeyboardInterrupt('killed while saving')

    monkeypatch.setattr(os, 'fsync', killed)
    with pytest.raises(KeyboardInterrupt):
        backend.put(b'half a checkpoint', path)
    with pytest.raises(KeyboardInterrupt):  # text files (knn.json) too
        backend.put_text('half a json', path)
    # the previous checkpoint is intact and no temp file is left behind
    assert torch.equal(torch.load(path, weights_only=True)['w'], torch.ones(3))
    assert os.listdir(tmp_path) == ['iter_2.pth']
    monkeypatch.undo()
    backend.put(b'new', path)
    assert path.read_bytes() == b'new'


@pytest.mark.parametrize('umask', [0o022, 0o077, 0o002])
def test_atomic_write_keeps_open_mode(tmp_path, umask):
    """The file gets the mode a plain ``open(..., 'wb')`` would give it under
    the caller's umask (mkstemp alone would make it 0600)."""
    old = os.umask(umask)
    try:
        LocalBackend().put(b'x', tmp_path / 'ours')
        with open(tmp_path / 'plain', 'wb') as f:
            f.write(b'x')
    finally:
        os.umask(old)
    mode = (tmp_path / 'ours').stat().st_mode & 0o777
    assert mode == (tmp_path / 'plain').stat().st_mode & 0o777
    assert mode == 0o666 & ~umask


def vit(width):
    return MODELS.build(dict(type='SymMIMViT', arch=dict(
        embed_dims=width, num_layers=2, num_heads=2,
        feedforward_channels=2 * width), img_size=32, patch_size=4))


def test_pretrained_of_another_architecture_fails(tmp_path):
    small, big = vit(32), vit(64)
    torch.save({'state_dict': small.state_dict()}, tmp_path / 'small.pth')
    with pytest.raises(RuntimeError, match='no tensor matches.*pos_embed'):
        load_checkpoint(big, str(tmp_path / 'small.pth'))
    # a partial fit (same architecture, one tensor extra) still loads
    state = dict(big.state_dict(), extra=torch.zeros(1))
    torch.save({'state_dict': state}, tmp_path / 'big.pth')
    load_checkpoint(big, str(tmp_path / 'big.pth'))


def test_full_disk_names_the_file_and_size(tmp_path, monkeypatch):
    """ENOSPC mid-write: the temporary goes, the error names the target (not
    the temporary) and carries the size that did not fit."""
    path = tmp_path / 'iter_4.pth'
    path.write_bytes(b'previous')
    full_disk_on(monkeypatch, 'iter_4.pth')
    with pytest.raises(OSError) as err:
        LocalBackend().put(b'x' * 5000, path)
    assert err.value.errno == errno.ENOSPC
    assert err.value.filename == str(path) and err.value.nbytes == 5000
    assert os.listdir(tmp_path) == ['iter_4.pth']
    assert path.read_bytes() == b'previous'


# --- relocatable work dirs: what --resume (no file) resumes from -------------
def logged_resume(work_dir, tmp_path):
    """find_latest_checkpoint(work_dir) as the Runner calls it (its logger
    current); returns what it gave and what it logged."""
    log = tmp_path / f'{uuid.uuid4().hex}.log'
    MMLogger.get_instance(uuid.uuid4().hex, log_file=str(log))
    found = runner_module.find_latest_checkpoint(str(work_dir))
    return found, log.read_text()


def work_dir_with(folder, recorded):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / 'iter_20.pth').write_bytes(b'own')
    (folder / 'last_checkpoint').write_text(str(recorded))
    return folder


def test_moved_work_dir_resumes_from_its_own_copy(tmp_path):
    """last_checkpoint names /old/iter_20.pth, gone; the work dir holds
    iter_20.pth: that one, one line, and last_checkpoint rewritten."""
    work = work_dir_with(tmp_path / 'new', tmp_path / 'old' / 'iter_20.pth')
    found, log = logged_resume(work, tmp_path)
    assert found == str(work / 'iter_20.pth')
    assert (work / 'last_checkpoint').read_text() == found
    assert len(log.splitlines()) == 1
    assert f'{tmp_path / "old" / "iter_20.pth"}, which does not exist' in log
    assert f"own copy {found}" in log
    # the rewritten work dir resumes as any other: nothing more logged
    assert logged_resume(work, tmp_path) == (found, '')


def test_copied_work_dir_leaves_the_original_alone(tmp_path):
    """Copied while the original still exists: the copy's own file, said."""
    old = work_dir_with(tmp_path / 'old', tmp_path / 'old' / 'iter_20.pth')
    work = work_dir_with(tmp_path / 'new', old / 'iter_20.pth')
    found, log = logged_resume(work, tmp_path)
    assert found == str(work / 'iter_20.pth')
    assert "is another work dir's file" in log
    assert (old / 'last_checkpoint').read_text() == str(old / 'iter_20.pth')


def test_checkpoint_elsewhere_is_never_silent(tmp_path):
    """A recorded file outside the work dir, with no copy in it, is resumed
    from with a warning naming it; a file that exists nowhere is an error
    naming both places (mmengine: '... can not be found')."""
    elsewhere = tmp_path / 'ckpts' / 'iter_20.pth'
    elsewhere.parent.mkdir()
    elsewhere.write_bytes(b'theirs')
    work = tmp_path / 'work'
    work.mkdir()
    (work / 'last_checkpoint').write_text(str(elsewhere))
    found, log = logged_resume(work, tmp_path)
    assert found == str(elsewhere)
    assert 'WARNING' in log and 'outside the work dir' in log
    elsewhere.unlink()
    with pytest.raises(FileNotFoundError,
                       match=f'{work} holds no iter_20.pth.*--resume'):
        logged_resume(work, tmp_path)
