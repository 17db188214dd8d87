"""NeighboursVisHook: the nearest-neighbours picture every N iterations."""
import re
from types import SimpleNamespace

import cv2
import pytest
import torch
from mmengine.config import Config

from mmsymmim.engine.hooks import NeighboursVisHook
from mmsymmim.visualization.neighbours import picture_shape
from ...harness import SYMMIM_DEMO, run_train

HOOK = 'custom_hooks.3'  # the SymMIM demo config's NeighboursVisHook


def test_demo_config_draws_neighbours_beside_the_reconstructions(
        fmnist_root, tmp_path):
    cfg = Config.fromfile(SYMMIM_DEMO)
    assert cfg.custom_hooks[3].type == 'NeighboursVisHook'
    proc = run_train(tmp_path, 4, config=SYMMIM_DEMO, options=[
        f'{HOOK}.interval=2', f'{HOOK}.num_images=200', f'{HOOK}.k=5',
        f'{HOOK}.num_queries=3', 'custom_hooks.2.interval=100'])
    files = sorted(p.name for p in (tmp_path / 'vis').iterdir())
    assert files == ['neighbours_iter_0002.png', 'neighbours_iter_0004.png']
    a, b = (cv2.imread(str(tmp_path / 'vis' / f)) for f in files)
    assert a.shape == b.shape == (*picture_shape(3, 5, 64), 3)
    assert (a != b).any()  # same queries, the model moved
    assert proc.out.count('neighbours/precision@5:') == 2


# the demo's recipe on the tests' tiny ViT, long enough to learn: the lr
# schedule of the demo (10 % warm-up, then cosine) fitted to ITERS
ITERS, BATCH = 50, 64


@pytest.mark.slow
def test_training_beats_random_init_on_5nn_label_precision(fmnist_root,
                                                           tmp_path):
    """The picture's claim, as a number: on 1,000 Fashion-MNIST test images,
    more of the 5 nearest neighbours share the image's class after a short
    run of the demo's SymMIM than at the same ViT's random init (the hook
    draws both: before the first iteration and at the end)."""
    warm = ITERS // 10
    proc = run_train(tmp_path, ITERS, config=SYMMIM_DEMO, options=[
        f'train_dataloader.batch_size={BATCH}',
        f'param_scheduler.0.end={warm}', f'param_scheduler.1.begin={warm}',
        f'param_scheduler.1.T_max={ITERS - warm}',
        'custom_hooks.2.interval=100000',  # no reconstructions
        f'{HOOK}.interval={ITERS}', f'{HOOK}.k=5', f'{HOOK}.at_start=True',
        f'{HOOK}.dataset.type=FashionMNISTIDX', f'{HOOK}.dataset.split=test'])
    found = re.findall(r'neighbours/precision@5: ([\d.]+) % \((\d+) images',
                       proc.out)
    assert [n for _, n in found] == ['1000', '1000'], proc.out[-3000:]
    (random, _), (trained, _) = found
    assert float(trained) > float(random) + 1, (
        f'5-NN label precision: random init {random} %, after {ITERS} '
        f'iterations {trained} %')
    print(f'5-NN label precision: random init {random} %, trained {trained} %')


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
