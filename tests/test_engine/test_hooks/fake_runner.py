"""A stand-in for what mmsymmim's CheckpointHook uses of a Runner, and the
helpers that read a work dir; shared by the checkpoint hook's tests."""
import json
import os.path as osp
import uuid

import torch
from mmengine.fileio import put
from mmengine.logging import MessageHub, MMLogger
from mmengine.optim import OptimWrapper


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
