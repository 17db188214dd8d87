"""NeighboursVisHook: the nearest-neighbours picture every N iterations."""
from types import SimpleNamespace

import cv2
import pytest
import torch
from mmengine.config import Config

from mmsymmim.engine.hooks import NeighboursVisHook
from mmsymmim.visualization.neighbours import picture_shape
from ...harness import SYMMIM_DEMO, run_train

HOOK = 'custom_hooks.2'  # the SymMIM demo config's NeighboursVisHook


def test_demo_config_draws_neighbours_beside_the_reconstructions(
        fmnist_root, tmp_path):
    cfg = Config.fromfile(SYMMIM_DEMO)
    assert cfg.custom_hooks[2].type == 'NeighboursVisHook'
    proc = run_train(tmp_path, 4, config=SYMMIM_DEMO, options=[
        f'{HOOK}.interval=2', f'{HOOK}.num_images=200', f'{HOOK}.k=5',
        f'{HOOK}.num_queries=3', 'custom_hooks.1.interval=100'])
    files = sorted(p.name for p in (tmp_path / 'vis').iterdir())
    assert files == ['neighbours_iter_0002.png', 'neighbours_iter_0004.png']
    a, b = (cv2.imread(str(tmp_path / 'vis' / f)) for f in files)
    assert a.shape == b.shape == (*picture_shape(3, 5, 64), 3)
    assert (a != b).any()  # same queries, the model moved
    assert proc.out.count('neighbours/precision@5:') == 2


@pytest.mark.parametrize('kwargs, match', [
    (dict(interval=0), 'interval'), (dict(k=0), '`k`'),
    (dict(num_images=1), 'num_images'), (dict(num_queries=2.5),
                                         'num_queries')])
def test_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        NeighboursVisHook(**kwargs)


def test_rejects_models_and_configs_it_cannot_use():
    runner = SimpleNamespace(model=torch.nn.Linear(1, 1), cfg=Config())
    with pytest.raises(TypeError, match='extract_feat'):
        NeighboursVisHook().before_train(runner)
    runner.model.extract_feat = runner.model.forward
    with pytest.raises(ValueError, match='test_dataloader.dataset.pipeline'):
        NeighboursVisHook().before_train(runner)
