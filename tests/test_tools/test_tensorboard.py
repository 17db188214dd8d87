"""Curves in TensorBoard: the demo with mmengine's TensorboardVisBackend."""
import glob

from ..harness import run_train

TENSORBOARD = 'visualizer.vis_backends.0.type=TensorboardVisBackend'


def test_demo_writes_losses_lr_knn_and_reconstructions(fmnist_root, tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import (
        EventAccumulator,
    )
    run_train(tmp_path, 2, options=[TENSORBOARD, 'custom_hooks.2.interval=1'])
    events = glob.glob(str(tmp_path / '*/vis_data/events.out.tfevents.*'))
    assert len(events) == 1
    acc = EventAccumulator(events[0], size_guidance={'scalars': 0,
                                                     'images': 0})
    acc.Reload()
    scalars = acc.Tags()['scalars']
    for tag in ('loss', 'loss_mim', 'loss_con', 'lr'):
        assert [e.step for e in acc.Scalars(tag)] == [1, 2], tag
    knn = acc.Scalars('knn/top1')  # before training and after it
    assert [e.step for e in knn] == [0, 2], scalars
    assert all(0 <= e.value <= 100 for e in knn)
    images = acc.Images('reconstruction')
    assert [e.step for e in images] == [1, 2]
    assert (images[0].width, images[0].height) == (512, 28 + 4 * 128)
