"""mmengine's CheckpointHook, but an old checkpoint goes after the new one.

Why: with ``max_keep_ckpts`` reached, mmengine's
``CheckpointHook._save_checkpoint_with_step`` (0.10.x) deletes the oldest
checkpoint *before* writing the new one. A run that dies while saving (killed,
out of disk, out of memory) is then left with no checkpoint at all, and with a
``last_checkpoint`` that names the deleted file, so ``--resume`` fails.

Here the order is: write the new checkpoint (atomically, see
``mmsymmim.engine.checkpoint_safety``), then point ``last_checkpoint`` at it
(atomically too; mmengine writes it with a bare ``open``), and only then delete
the checkpoints beyond ``max_keep_ckpts``. Whatever step a crash interrupts,
``last_checkpoint`` names a complete file and ``--resume`` continues from it.
``max_keep_ckpts`` means what it means in mmengine: once a save has completed,
the newest ``max_keep_ckpts`` checkpoints of the hook are on disk. (For the
moment between a write and the deletion there is one more; a crash right then
leaves that one behind, and it is deleted when the run resumes, because the
new checkpoint lists it as pending: mmengine's ``before_train`` trims the kept
list to ``max_keep_ckpts`` on resume.)

Disk space, which a save needs for two checkpoints at once (the new one is
written before the old one goes):

- before training, one warning if the checkpoint folder's free space cannot
  hold two checkpoints of this model (one when resuming: the previous one is
  already there), with the figures (:func:`estimate_checkpoint_bytes`);
- a save that fails for lack of space (ENOSPC) logs its traceback and raises
  :class:`CheckpointNoSpaceError`, whose message is one line: the folder, the
  size of the checkpoint that did not fit, the free space, that the previous
  checkpoint is intact (``last_checkpoint`` still names it: a failed write
  leaves no temporary and changes neither) and that ``--resume`` continues
  from it once space is freed. ``tools/train.py`` ends with that line.

A work dir that was moved keeps resuming (``mmsymmim.engine.
checkpoint_safety``); the best-checkpoint path a resumed run inherits is
rebased onto this run's folder, so that replacing the best checkpoint never
deletes the file of the work dir it was copied from.

Registered as ``CheckpointHook`` (force) in mmpretrain's and mmengine's hook
registries, so every config's ``default_hooks.checkpoint`` gets it with no
change, whatever its default scope (mmpretrain, or mmdet / mmseg for the
transfer configs, whose registries fall back to mmengine's). Drop it when
mmengine saves before it deletes.
"""
import contextlib
import errno
import os.path as osp
import shutil
from collections import deque

import torch
from mmengine.dist import is_main_process
from mmengine.fileio import put_text
from mmengine.fileio.backends.local_backend import LocalBackend
from mmengine.hooks import CheckpointHook as _MMEngineCheckpointHook
from mmengine.optim import OptimWrapperDict
from mmengine.registry import HOOKS as MMENGINE_HOOKS

from mmpretrain.registry import HOOKS
from .hook_utils import bare_model


class CheckpointHook(_MMEngineCheckpointHook):
    """``mmengine.hooks.CheckpointHook`` that deletes an old checkpoint only
    after its successor is fully written and named in ``last_checkpoint``.
    Same arguments and behaviour otherwise."""

    def before_train(self, runner) -> None:
        super().before_train(runner)
        self._rebase_best_ckpt_paths()
        if is_main_process() and isinstance(self.file_backend, LocalBackend):
            self._warn_if_disk_too_small(runner)

    def _save_checkpoint_with_step(self, runner, step, meta):
        with self._space_said(runner, self.filename_tmpl.format(step)):
            self._save_then_rotate(runner, step, meta)

    def _save_best_checkpoint(self, runner, metrics) -> None:
        with self._space_said(runner, 'the best checkpoint'):
            super()._save_best_checkpoint(runner, metrics)

    def _save_then_rotate(self, runner, step, meta):
        surplus = []
        if self.max_keep_ckpts > 0:
            kept = list(self.keep_ckpt_ids)
            # _save_checkpoint and _save_best_checkpoint may both save `step`
            if not kept or kept[-1] != step:
                kept.append(step)
                surplus = kept[:-self.max_keep_ckpts]
            # the checkpoint lists the surplus too: if the run dies before
            # they are deleted, a resume from it deletes them (before_train)
            runner.message_hub.update_info('keep_ckpt_ids', kept)
            kept = kept[len(surplus):]

        ckpt_filename = self.filename_tmpl.format(step)
        self.last_ckpt = self.file_backend.join_path(self.out_dir,
                                                     ckpt_filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)

        runner.save_checkpoint(
            self.out_dir,
            ckpt_filename,
            self.file_client_args,
            save_optimizer=self.save_optimizer,
            save_param_scheduler=self.save_param_scheduler,
            meta=meta,
            by_epoch=self.by_epoch,
            backend_args=self.backend_args,
            **self.args)

        if self.max_keep_ckpts > 0:
            self.keep_ckpt_ids = deque(kept, self.max_keep_ckpts)
            runner.message_hub.update_info('keep_ckpt_ids', kept)

        # Model parallel-like training should involve pulling sharded states
        # from all ranks, but skip the following procedure (as mmengine).
        if not is_main_process():
            return

        # atomic (mmsymmim.engine.checkpoint_safety): never empty or torn
        put_text(self.last_ckpt, osp.join(runner.work_dir, 'last_checkpoint'))
        for old in surplus:
            self._remove_checkpoint(old)

    def _remove_checkpoint(self, step) -> None:
        path = self.file_backend.join_path(self.out_dir,
                                           self.filename_tmpl.format(step))
        if self.file_backend.isfile(path):
            self.file_backend.remove(path)
        elif self.file_backend.isdir(path):
            # checkpoints saved by deepspeed are directories
            self.file_backend.rmtree(path)

    # --- disk space ---------------------------------------------------------
    @contextlib.contextmanager
    def _space_said(self, runner, name):
        """ENOSPC inside: :meth:`_out_of_space` (any other error as it is)."""
        try:
            yield
        except CheckpointNoSpaceError:
            raise
        except OSError as err:
            if err.errno != errno.ENOSPC:
                raise
            self._out_of_space(runner, name, err)

    def _warn_if_disk_too_small(self, runner) -> None:
        free = shutil.disk_usage(_existing_folder(self.out_dir)).free
        size = estimate_checkpoint_bytes(runner, self.save_optimizer)
        # resumed: the checkpoint the next save replaces is already on disk
        held = self.max_keep_ckpts > 0 and any(
            self.file_backend.exists(
                self.file_backend.join_path(self.out_dir,
                                            self.filename_tmpl.format(step)))
            for step in self.keep_ckpt_ids)
        need = size if held else 2 * size
        if free >= need:
            return
        why = ('the next save needs room for one more (the previous one is '
               'already there)' if held else 'a save needs room for two (the '
               'new one is written before the old one is deleted)')
        runner.logger.warning(
            f'Only {_size(free)} free in {self.out_dir}: a checkpoint of this '
            f'model takes about {_size(size)} and {why}: {_size(need)}. Free '
            f'{_size(need - free)} or more there, or train on a larger disk '
            f'(--work-dir), or a save will fail for lack of space.')

    def _out_of_space(self, runner, name, err) -> None:
        """Log the traceback, then raise the one line that says what to do."""
        runner.logger.error(f'Saving {name} failed:', exc_info=err)
        folder = self.out_dir
        size = getattr(err, 'nbytes', None)
        if size is None:
            size = estimate_checkpoint_bytes(runner, self.save_optimizer)
        free = shutil.disk_usage(_existing_folder(folder)).free
        what = osp.basename(err.filename) if err.filename else name
        line = (f'No space left on device in {folder}: {what} '
                f'({_size(size)}) did not fit ({_size(free)} free). ')
        to_free = (f'free {_size(size - free)} or more' if size > free else
                   'free space')
        previous = _named_checkpoint(runner.work_dir)
        if previous:
            line += (f'The previous checkpoint {previous} is intact and '
                     f'last_checkpoint names it: {to_free} and run the same '
                     f'command with --resume to continue from it.')
        else:
            line += (f'No checkpoint of this run was saved before: {to_free} '
                     f'and start it again.')
        raise CheckpointNoSpaceError(line) from err

    def _rebase_best_ckpt_paths(self) -> None:
        """A resumed run inherits the best checkpoint's path from the
        checkpoint; a moved work dir's points at the old place, whose file
        mmengine would delete when a new best is saved. Best checkpoints are
        written to ``out_dir``: read the path there."""
        if self.save_best is None:
            return

        def rebased(path):
            if not path or '://' in path:
                return path
            return self.file_backend.join_path(self.out_dir,
                                               osp.basename(path))

        if getattr(self, 'best_ckpt_path', None):
            self.best_ckpt_path = rebased(self.best_ckpt_path)
        for key, path in getattr(self, 'best_ckpt_path_dict', {}).items():
            self.best_ckpt_path_dict[key] = rebased(path)


class CheckpointNoSpaceError(OSError):
    """A checkpoint did not fit on its disk (errno ENOSPC). ``str()`` is the
    one line to show: where, how much, and how to continue."""

    def __init__(self, message: str) -> None:
        super().__init__(errno.ENOSPC, message)

    def __str__(self) -> str:
        return self.strerror


# Tensors an optimizer keeps per parameter once it has stepped (its state is
# created on the first step, so before training it has to be foreseen).
_STATE_PER_PARAM = {
    'Adam': 2, 'AdamW': 2, 'NAdam': 2, 'RAdam': 2, 'Adamax': 2, 'Lamb': 2,
    'Adadelta': 2, 'Adan': 4, 'Adagrad': 1, 'Lion': 1, 'RMSprop': 1,
    'SGD': 1, 'LARS': 1,  # the momentum buffer; none without momentum
}


def estimate_checkpoint_bytes(runner, save_optimizer: bool = True) -> int:
    """About how many bytes ``runner.save_checkpoint`` writes: the model's
    state dict, an EMA hook's copy of it and the optimizer's state (its real
    size once it has stepped, else foreseen from the optimizer's type), plus
    a fixed allowance for the config text, the message hub and the
    schedulers."""
    model = bare_model(runner)
    total = _tensor_bytes(model.state_dict()) + 64 * 1024
    for hook in getattr(runner, 'hooks', ()):
        ema = getattr(hook, 'ema_model', None)
        if isinstance(ema, torch.nn.Module):
            total += _tensor_bytes(ema.state_dict())
    if save_optimizer:
        wrappers = runner.optim_wrapper
        wrappers = (list(wrappers.optim_wrappers.values()) if isinstance(
            wrappers, OptimWrapperDict) else [wrappers])
        total += sum(_optimizer_state_bytes(w.optimizer) for w in wrappers)
    return total


def _optimizer_state_bytes(optimizer) -> int:
    if any(optimizer.state.values()):  # stepped, or loaded by a resume
        return _tensor_bytes(list(optimizer.state.values()))
    per_param = _STATE_PER_PARAM.get(type(optimizer).__name__, 2)
    total, seen = 0, set()
    for group in optimizer.param_groups:
        slots = per_param
        if type(optimizer).__name__ in ('SGD', 'LARS') and not group.get(
                'momentum'):
            slots = 0
        slots += bool(group.get('amsgrad')) + bool(group.get('centered'))
        if type(optimizer).__name__ == 'RMSprop' and group.get('momentum'):
            slots += 1
        for p in group['params']:
            if p.requires_grad and id(p) not in seen:
                seen.add(id(p))
                total += slots * p.numel() * p.element_size()
    return total


def _tensor_bytes(obj) -> int:
    """Bytes of the tensors in nested dicts / lists (a shared storage once)."""
    seen, total, stack = set(), 0, [obj]
    while stack:
        item = stack.pop()
        if isinstance(item, torch.Tensor):
            key = (item.untyped_storage().data_ptr(), item.device)
            if key not in seen:
                seen.add(key)
                total += item.untyped_storage().nbytes()
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
    return total


def _existing_folder(folder: str) -> str:
    """``folder`` or its nearest existing parent (for ``disk_usage``)."""
    folder = osp.abspath(folder)
    while not osp.isdir(folder) and osp.dirname(folder) != folder:
        folder = osp.dirname(folder)
    return folder


def _named_checkpoint(work_dir: str):
    """The checkpoint ``last_checkpoint`` names, if that file exists."""
    try:
        with open(osp.join(work_dir, 'last_checkpoint')) as f:
            path = f.read().strip()
    except OSError:
        return None
    return path if path and osp.exists(path) else None


def _size(nbytes: int) -> str:
    nbytes = max(nbytes, 0)
    for unit, scale in (('GiB', 2**30), ('MiB', 2**20), ('KiB', 2**10)):
        if nbytes >= scale:
            return f'{nbytes / scale:.{2 if unit == "GiB" else 1}f} {unit}'
    return f'{nbytes} B'


# 'CheckpointHook' in configs means this class, in every scope
HOOKS.register_module(name='CheckpointHook', module=CheckpointHook, force=True)
MMENGINE_HOOKS.register_module(
    name='CheckpointHook', module=CheckpointHook, force=True)
