"""study/transfer/finetune.py: a scene config's schedule fitted to the
study's iterations."""
import os.path as osp

import pytest
from mmengine.config import Config

from study.transfer import plan as tp
from study.transfer.finetune import fit_schedule, scene_config
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


@pytest.mark.parametrize('prefix', [None, 'momentum_encoder.module.backbone.'])
def test_scene_config_loads_under_the_jobs_prefix(tmp_path, prefix):
    """A job's ``prefix`` replaces the config's ``backbone.``; none keeps
    it; no checkpoint: no init_cfg (random init)."""
    job = dict(config=tp.TASKS['det']['vit'], iters=4, seed=0)
    if prefix:
        job['prefix'] = prefix
    cfg = scene_config(job, str(tmp_path), str(tmp_path / 'w'), 'c.pth')
    init = cfg.model.backbone.init_cfg
    assert init.checkpoint == 'c.pth'
    assert init.prefix == (prefix or 'backbone.')
    assert scene_config(job, str(tmp_path), str(tmp_path / 'w'),
                        None).model.backbone.init_cfg is None
