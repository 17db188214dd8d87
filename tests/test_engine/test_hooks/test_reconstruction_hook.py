"""ReconstructionVisHook: the reconstruction grid every N iterations."""
import glob
from types import SimpleNamespace

import cv2
import pytest
import torch

from mmsymmim.engine.hooks import ReconstructionVisHook
from mmsymmim.visualization.reconstruction import HEADER, grid_shape
from ...harness import run_train


def test_writes_grids_at_the_interval(fmnist_root, tmp_path):
    # custom_hooks.2 is the hook the SymMIM demo config adds (after the k-NN
    # report and RNGStateHook of its base)
    run_train(tmp_path, 5, options=['custom_hooks.2.interval=2'])
    files = sorted(p.name for p in (tmp_path / 'vis').iterdir())
    assert files == ['iter_0002.png', 'iter_0004.png']
    a, b = (cv2.imread(str(tmp_path / 'vis' / f)) for f in files)
    assert a.shape == (*grid_shape(4, 32), 3)
    # same images and masks each time; the reconstruction column moves
    t = a.shape[1] // 4
    for col in (0, 1, 3):
        assert (a[:, col * t:(col + 1) * t] == b[:, col * t:(col + 1) * t]
                ).all()
    assert (a[HEADER:, 2 * t:3 * t] != b[HEADER:, 2 * t:3 * t]).any()
    # and the visualizer's backend (local: vis_data/vis_image) got them
    sent = glob.glob(str(tmp_path / '*/vis_data/vis_image/reconstruction_*'))
    assert sorted(p.rsplit('_', 1)[1] for p in sent) == ['2.png', '4.png']


def test_rejects_bad_arguments_and_models():
    with pytest.raises(ValueError, match='`interval` must be an int >= 1'):
        ReconstructionVisHook(interval=0)
    runner = SimpleNamespace(model=torch.nn.Linear(1, 1), cfg=None)
    with pytest.raises(TypeError, match='reconstruct'):
        ReconstructionVisHook().before_train(runner)
