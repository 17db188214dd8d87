"""study/transfer/finetune.py: a scene config's schedule fitted to the
study's iterations."""
import os.path as osp

import pytest
from mmengine.config import Config

from study.transfer import plan as tp
from study.transfer.finetune import fit_schedule
from .....harness import REPO


@pytest.mark.parametrize('task,family', [(t, f) for t in tp.TASKS
                                         for f in ('vit', 'resnet')])
def test_fit_schedule(task, family):
    """The config's own schedule at another length: warm-up and decay at
    the same fractions, validation off, a checkpoint every 200 steps."""
    cfg = Config.fromfile(osp.join(REPO, tp.TASKS[task][family]))
    fit_schedule(cfg, 400)
    assert cfg.train_cfg.max_iters == 400
    assert cfg.train_cfg.val_interval > 400
    for s in cfg.param_scheduler:
        assert s.get('end', 0) <= 400
        for m in s.get('milestones', []):
            assert 0 < m < 400
    assert cfg.default_hooks.checkpoint.interval == 200
