"""What a config sweep run is checked on: its EMA updates, logged scalars and
checkpoint (tests/test_config_sweep.py)."""
import glob
import json
import os.path as osp
from contextlib import contextmanager

import torch


@contextmanager
def watch_ema(record: list):
    """Append, for every update of an EMA encoder (mmengine's
    ``BaseAveragedModel`` and its subclasses) during the block, whether its
    parameters changed. Observes only: the update itself runs as is."""
    from mmengine.model import BaseAveragedModel

    from mmsymmim.models.utils import ForeachCosineEMA
    classes = [BaseAveragedModel, ForeachCosineEMA]
    saved = [cls.__dict__['update_parameters'] for cls in classes]

    def checksum(model):
        with torch.no_grad():
            return sum(p.double().sum().item() for p in model.parameters())

    def spy(original):
        def update_parameters(self, model):
            before = checksum(self.module)
            original(self, model)
            record.append(dict(steps=int(self.steps),
                               moved=checksum(self.module) != before))
        return update_parameters

    for cls, original in zip(classes, saved):
        cls.update_parameters = spy(original)
    try:
        yield record
    finally:
        for cls, original in zip(classes, saved):
            cls.update_parameters = original


def logged_scalars(work_dir: str) -> list:
    """The rows the run's ``LocalVisBackend`` wrote (``scalars.json``)."""
    files = glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))
    assert len(files) == 1, files
    with open(files[0]) as f:
        return [json.loads(line) for line in f if line.strip()]


def last_checkpoint(work_dir: str) -> str:
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        return f.read().strip()


def state_dict(checkpoint: str) -> dict:
    """The checkpoint's weights, memory-mapped (a ViT-L checkpoint with its
    EMA copy and AdamW state is about 5 GB; only what is read is loaded)."""
    return torch.load(checkpoint, map_location='cpu', mmap=True,
                      weights_only=False)['state_dict']


def with_prefix(state: dict, prefix: str) -> dict:
    """``state``'s entries under ``prefix``, the prefix cut, as mmengine's
    ``Pretrained(prefix=...)`` reads a checkpoint (no prefix: all of it)."""
    if prefix is None:
        return state
    prefix = prefix if prefix.endswith('.') else prefix + '.'
    return {k[len(prefix):]: v for k, v in state.items()
            if k.startswith(prefix)}
