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

Registered as ``CheckpointHook`` (force) in mmpretrain's and mmengine's hook
registries, so every config's ``default_hooks.checkpoint`` gets it with no
change, whatever its default scope (mmpretrain, or mmdet / mmseg for the
transfer configs, whose registries fall back to mmengine's). Drop it when
mmengine saves before it deletes.
"""
import os.path as osp
from collections import deque

from mmengine.dist import is_main_process
from mmengine.fileio import put_text
from mmengine.hooks import CheckpointHook as _MMEngineCheckpointHook
from mmengine.registry import HOOKS as MMENGINE_HOOKS

from mmpretrain.registry import HOOKS


class CheckpointHook(_MMEngineCheckpointHook):
    """``mmengine.hooks.CheckpointHook`` that deletes an old checkpoint only
    after its successor is fully written and named in ``last_checkpoint``.
    Same arguments and behaviour otherwise."""

    def _save_checkpoint_with_step(self, runner, step, meta):
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


# 'CheckpointHook' in configs means this class, in every scope
HOOKS.register_module(name='CheckpointHook', module=CheckpointHook, force=True)
MMENGINE_HOOKS.register_module(
    name='CheckpointHook', module=CheckpointHook, force=True)
