"""Every config under configs/ loads and builds its model."""
import glob
import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.registry import DefaultScope

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIGS = sorted(
    p for p in glob.glob(osp.join(REPO, 'configs', '**', '*.py'),
                         recursive=True) if '_base_' not in p)


def test_configs_found():
    assert len(CONFIGS) >= 6


@pytest.mark.parametrize('path', CONFIGS,
                         ids=[osp.relpath(p, REPO) for p in CONFIGS])
def test_config_builds_model(path):
    cfg = Config.fromfile(path)
    assert 'mmsymmim' in cfg.custom_imports['imports']
    assert cfg.custom_imports.get('allow_failed_imports') is False
    scope = cfg.get('default_scope', 'mmpretrain')
    if scope == 'mmdet':
        from mmdet.registry import MODELS
        from mmdet.utils import register_all_modules
        register_all_modules(init_default_scope=False)
    elif scope == 'mmseg':
        from mmseg.registry import MODELS
        from mmseg.utils import register_all_modules
        register_all_modules(init_default_scope=False)
    else:
        from mmpretrain.registry import MODELS
    with DefaultScope.overwrite_default_scope(scope):
        model = MODELS.build(cfg.model)
    assert sum(p.numel() for p in model.parameters()) > 0
