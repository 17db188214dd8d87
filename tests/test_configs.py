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
    if cfg.get('data_preprocessor') is not None:  # as mmengine's Runner does
        cfg.model.setdefault('data_preprocessor', cfg.data_preprocessor)
    with DefaultScope.overwrite_default_scope(scope):
        model = MODELS.build(cfg.model)
    assert sum(p.numel() for p in model.parameters()) > 0
    # inputs are normalised (a preprocessor without mean/std passes raw 0-255)
    assert getattr(model.data_preprocessor, '_enable_normalize', True)


# downstream configs whose backbone loads the pretraining checkpoint (the
# retrieval config takes it as the inferencer's `pretrained` instead)
BENCHMARKS = [p for p in CONFIGS if '/benchmarks/' in p
              and not osp.basename(p).startswith('retrieval_')]


@pytest.mark.parametrize('path', BENCHMARKS,
                         ids=[osp.relpath(p, REPO) for p in BENCHMARKS])
def test_documented_checkpoint_override_works(path):
    """The `--cfg-options` line in each benchmark config's header sets the
    checkpoint the backbone loads (a module-level variable would not)."""
    import re
    header = open(path).read()
    found = re.search(r'--cfg-options (\S+)=(\S+)', header)
    assert found, 'no documented --cfg-options override'
    key, value = found.groups()
    cfg = Config.fromfile(path)
    cfg.merge_from_dict({key: 'my/own.pth'})
    assert cfg.model.backbone.init_cfg.checkpoint == 'my/own.pth'
    assert value.endswith('.pth')


def test_vit_large_keeps_mocov3_gradient_clipping():
    ours = Config.fromfile(osp.join(
        REPO, 'configs/symmim/'
        'symmim_vit-large-p16_64xb64-amp-coslr-600e_in1k.py'))
    theirs = Config.fromfile(_package_config(
        'mocov3/mocov3_vit-large-p16_64xb64-amp-coslr-300e_in1k.py'))
    assert theirs.optim_wrapper.clip_grad.max_norm == 5.0
    assert ours.optim_wrapper.clip_grad == theirs.optim_wrapper.clip_grad


def _package_config(rel):
    import mmpretrain
    return osp.join(osp.dirname(mmpretrain.__file__), '.mim', 'configs', rel)
