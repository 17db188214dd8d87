import glob
import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.runner import Runner

import mmsymmim  # noqa: F401  (the compat patch)
from ..harness import REPO


def loader_cfg(collate_fn):
    return dict(batch_size=4, num_workers=0, collate_fn=collate_fn,
                sampler=dict(type='DefaultSampler', shuffle=False),
                dataset=dict(type='FashionMNISTIDX', split='test',
                             indices=8, pipeline=[dict(type='PackInputs')]))


@pytest.mark.parametrize('scope', ['mmpretrain', 'mmengine'])
def test_collate_fn_with_scope_key_builds_and_collates(fmnist_root, scope):
    """A package base's ``_scope_`` on collate_fn is a scope, not an
    argument (mmengine passes it on: ``unexpected keyword '_scope_'``)."""
    from mmengine.registry import init_default_scope
    init_default_scope('mmpretrain')
    cfg = loader_cfg(dict(type='default_collate', _scope_=scope))
    batch = next(iter(Runner.build_dataloader(cfg)))
    assert batch['inputs'].shape == (4, 3, 28, 28)
    assert cfg['collate_fn']['_scope_'] == scope  # the caller's dict kept


def test_unknown_collate_fn_is_named(fmnist_root):
    with pytest.raises(KeyError, match='no_such_collate'):
        Runner.build_dataloader(loader_cfg(
            dict(type='no_such_collate', _scope_='mmpretrain')))


def test_package_base_configs_carry_the_scope_key():
    """Why the patch exists: the folder / ImageNet configs' collate_fn come
    from mmpretrain's bases with ``_scope_`` in them."""
    cfgs = glob.glob(osp.join(REPO, 'configs/*/*16xb256*_folder.py'))
    assert cfgs
    for path in cfgs:
        cfg = Config.fromfile(path, import_custom_modules=False)
        assert cfg.train_dataloader.collate_fn.get('_scope_') == \
            'mmpretrain', path
