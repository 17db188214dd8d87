"""Checkpoint safety, a feature mmsymmim adds to every run it loads into.

1. **Atomic writes.** mmengine's ``LocalBackend.put`` / ``put_text`` open the
   target and write, so a run killed while saving leaves a truncated
   checkpoint under the final name (and ``--resume`` picks it as the latest).
   Here every local write (checkpoints, ``last_checkpoint``, JSON / YAML
   dumps) goes to a temporary file in the same folder, is fsynced, and is
   renamed over the target: atomic on POSIX. A killed write leaves the old
   file intact and no temporary behind.
2. **Wrong-architecture checkpoints are errors.** mmengine loads
   ``load_from`` / ``init_cfg=Pretrained`` files with strict=False and only
   logs what did not fit, so a ViT-S file given to a ViT-B (or a ResNet file
   to a ViT) trains from scratch after a warning that scrolls by. Partial
   loads stay allowed (a new head, a resized position embedding); a load in
   which *no* tensor of the model fits the file raises, listing the
   mismatched keys.

Applied by ``import mmsymmim``. Both would be dropped if mmengine grew them.
"""
import os
import os.path as osp
import tempfile

import mmengine
import mmengine.runner.checkpoint as _checkpoint
from mmengine.fileio.backends.local_backend import LocalBackend


# --- 1. atomic writes ---------------------------------------------------------
def _atomic_put(self, obj: bytes, filepath) -> None:
    filepath = str(filepath)
    folder = osp.dirname(osp.abspath(filepath))
    mmengine.mkdir_or_exist(folder)
    fd, tmp = tempfile.mkstemp(
        dir=folder, prefix='.' + osp.basename(filepath), suffix='.tmp')
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; keep open()'s mode
        with os.fdopen(fd, 'wb') as f:
            f.write(obj)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, filepath)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise


def _atomic_put_text(self, obj: str, filepath, encoding: str = 'utf-8'):
    _atomic_put(self, obj.encode(encoding), filepath)


LocalBackend.put = _atomic_put
LocalBackend.put_text = _atomic_put_text  # mmengine.dump(json/yaml) too


# --- 2. wrong-architecture guard ---------------------------------------------
def _guarded_load_state_dict(module, state_dict, strict=False, logger=None):
    from mmengine.model import is_model_wrapper
    target = module.module if is_model_wrapper(module) else module
    own = {k: v.shape for k, v in target.state_dict().items()}
    if own and state_dict:
        fits = [k for k, v in state_dict.items()
                if k in own and tuple(own[k]) == tuple(getattr(v, 'shape', ()))]
        if not fits:
            shape = [f'{k}: file {tuple(v.shape)} vs model {tuple(own[k])}'
                     for k, v in state_dict.items() if k in own]
            missing = [k for k in own if k not in state_dict]
            raise RuntimeError(
                f'checkpoint does not fit {type(target).__name__}: no tensor '
                f'matches (another architecture?). Shape mismatches '
                f'({len(shape)}): {shape[:10]}; missing ({len(missing)}): '
                f'{missing[:10]}; unexpected: '
                f'{[k for k in state_dict if k not in own][:10]}')
    return _mmengine_load_state_dict(module, state_dict, strict, logger)


_mmengine_load_state_dict = _checkpoint.load_state_dict
_checkpoint.load_state_dict = _guarded_load_state_dict
