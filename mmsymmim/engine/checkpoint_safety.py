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
   mismatched keys. A model with ``remap_state_dict`` has the file's keys
   renamed by it first (BackboneRetriever: a pretraining checkpoint's
   ``backbone.*`` into its image encoder).
3. **Relocatable work dirs.** ``last_checkpoint`` holds the absolute path of
   the latest checkpoint, so a work dir copied or moved elsewhere (scratch to
   shared storage, one node to another, a full disk to a bigger one) could
   not ``--resume``: mmengine looked for the old path. Here, when the work dir
   holds a checkpoint of the recorded name and the recorded path is another
   file (gone, or in the old place), the work dir's own copy is resumed from,
   one line says so and ``last_checkpoint`` is rewritten to name it. A
   recorded file outside the work dir with no copy in it is resumed from with
   a warning naming it; a recorded file that exists nowhere is an error
   naming both places. Never a silent resume from another work dir's file.
4. **A full disk is named.** A local write that fails with ENOSPC leaves no
   temporary (as any failed write) and its ``OSError`` carries the target
   (``filename``) and the size that did not fit (``nbytes``), which
   mmsymmim's ``CheckpointHook`` turns into one line saying what to free.

Applied by ``import mmsymmim``. All would be dropped if mmengine grew them.
"""
import errno
import logging
import os
import os.path as osp
import tempfile

import mmengine
import mmengine.runner as _runner_pkg
import mmengine.runner.checkpoint as _checkpoint
import mmengine.runner.runner as _runner
from mmengine.dist import is_main_process
from mmengine.fileio.backends.local_backend import LocalBackend
from mmengine.logging import print_log


# --- 1. atomic writes -------------------------------------------------------
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
    except BaseException as err:
        if osp.exists(tmp):
            os.remove(tmp)
        if isinstance(err, OSError) and err.errno == errno.ENOSPC:
            err.filename = err.filename or filepath  # the file, not the temp
            err.nbytes = len(obj)  # what did not fit (CheckpointHook says it)
        raise


def _atomic_put_text(self, obj: str, filepath, encoding: str = 'utf-8'):
    _atomic_put(self, obj.encode(encoding), filepath)


LocalBackend.put = _atomic_put
LocalBackend.put_text = _atomic_put_text  # mmengine.dump(json/yaml) too


# --- 2. wrong-architecture guard ---------------------------------------------
def _guarded_load_state_dict(module, state_dict, strict=False, logger=None):
    from mmengine.model import is_model_wrapper
    target = module.module if is_model_wrapper(module) else module
    if hasattr(target, 'remap_state_dict'):  # e.g. BackboneRetriever
        state_dict = target.remap_state_dict(state_dict)
    own = {k: v.shape for k, v in target.state_dict().items()}
    if own and state_dict:
        fits = [k for k, v in state_dict.items()
                if k in own
                and tuple(own[k]) == tuple(getattr(v, 'shape', ()))]
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


# --- 3. relocatable work dirs -----------------------------------------------
def find_latest_checkpoint(path: str):
    """mmengine's ``find_latest_checkpoint`` (what ``--resume`` without a file
    resumes from) for a work dir that may have been moved or copied: see 3.
    in the module docstring."""
    recorded = _mmengine_find_latest_checkpoint(path)
    if not recorded or '://' in recorded:  # none, or a remote backend's
        return recorded
    save_file = osp.join(path, 'last_checkpoint')
    own = osp.join(path, osp.basename(recorded.rstrip('/')))
    if osp.exists(own):  # deepspeed checkpoints are folders
        if osp.exists(recorded) and osp.samefile(recorded, own):
            return recorded
        where = ('does not exist' if not osp.exists(recorded) else
                 'is another work dir\'s file')
        print_log(
            f'{save_file} names {recorded}, which {where}: resuming from the '
            f'work dir\'s own copy {own} (last_checkpoint now names it).',
            logger='current')
        if is_main_process():
            _atomic_put_text(None, own, save_file)
        return own
    if not osp.exists(recorded):
        raise FileNotFoundError(
            f'{save_file} names {recorded}, which does not exist, and '
            f'{path} holds no {osp.basename(recorded)}: copy that '
            f'checkpoint into {path}, or pass --resume CHECKPOINT')
    if osp.dirname(osp.abspath(recorded)) != osp.abspath(path):
        print_log(
            f'{save_file} names {recorded}, outside the work dir, which holds '
            f'no {osp.basename(recorded)}: resuming from that file.',
            logger='current', level=logging.WARNING)
    return recorded


_mmengine_find_latest_checkpoint = _checkpoint.find_latest_checkpoint
for _module in (_checkpoint, _runner, _runner_pkg):  # Runner uses _runner's
    _module.find_latest_checkpoint = find_latest_checkpoint
