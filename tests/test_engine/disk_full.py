"""A disk that fills up, for the tests of checkpoint writes: a write of one
named file fails with ENOSPC half way, every other write works."""
import errno
import os
import os.path as osp


class _FullDisk:
    """A file whose first write stops half way: No space left on device."""

    def __init__(self, f):
        self._f = f

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._f.close()

    def write(self, data):
        self._f.write(data[:len(data) // 2])
        self._f.flush()
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def __getattr__(self, name):
        return getattr(self._f, name)


def full_disk_on(monkeypatch, name: str) -> None:
    """From now on, the atomic write of a file called ``name`` (through its
    temporary ``.NAME*.tmp``, ``mmsymmim.engine.checkpoint_safety``) fails
    with ENOSPC half way through, as on a full disk."""
    fdopen = os.fdopen

    def patched(fd, *args, **kwargs):
        f = fdopen(fd, *args, **kwargs)
        target = osp.basename(os.readlink(f'/proc/self/fd/{fd}'))
        return _FullDisk(f) if target.startswith('.' + name) else f

    monkeypatch.setattr(os, 'fdopen', patched)
