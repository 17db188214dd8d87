"""mmsymmim.engine.checkpoint_safety: atomic writes, architecture guard."""
import os

import pytest
import torch
from mmengine.fileio.backends.local_backend import LocalBackend
from mmengine.runner.checkpoint import load_checkpoint

from mmpretrain.registry import MODELS


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
