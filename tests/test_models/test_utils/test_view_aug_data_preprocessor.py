"""ViewAugDataPreprocessor: the augment sees RGB 0-255 views before the
normalisation, per view, in training only."""
import pytest
import torch

from mmpretrain.models.utils.data_preprocessor import SelfSupDataPreprocessor
from mmpretrain.registry import MODELS
from mmsymmim.models.utils import ViewAugDataPreprocessor

NORM = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
            to_rgb=True)


class Recorder:
    """A view augment that records its input and adds 10 * (view + 1)."""

    def __init__(self):
        self.seen = None

    def __call__(self, views):
        self.seen = [v.clone() for v in views]
        return [v + 10 * (i + 1) for i, v in enumerate(views)]


def batch(n=3, views=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    return dict(inputs=[
        torch.randint(0, 256, (n, 3, 8, 8), generator=g, dtype=torch.uint8)
        for _ in range(views)
    ], data_samples=None)


@pytest.mark.parametrize('to_rgb', [True, False])
def test_augment_gets_rgb_0_255_and_output_is_normalised(to_rgb):
    rec = Recorder()
    pre = ViewAugDataPreprocessor(view_aug=rec, **dict(NORM, to_rgb=to_rgb))
    data = batch()
    out = pre(data, training=True)['inputs']
    mean = torch.tensor(NORM['mean']).view(1, 3, 1, 1)
    std = torch.tensor(NORM['std']).view(1, 3, 1, 1)
    for v, (raw, seen, got) in enumerate(zip(data['inputs'], rec.seen, out)):
        expect_in = raw[:, [2, 1, 0]] if to_rgb else raw
        assert seen.dtype == torch.float32
        assert torch.equal(seen, expect_in.float())  # 0-255, not normalised
        torch.testing.assert_close(got, (seen + 10 * (v + 1) - mean) / std)


def test_not_training_is_the_parent_unchanged():
    rec = Recorder()
    pre = ViewAugDataPreprocessor(view_aug=rec, **NORM)
    parent = SelfSupDataPreprocessor(**NORM)
    data = batch()
    out = pre(data, training=False)['inputs']
    assert rec.seen is None
    for a, b in zip(out, parent(batch(), training=False)['inputs']):
        assert torch.equal(a, b)


def test_builds_from_config_and_single_tensor_input():
    pre = MODELS.build(dict(
        type='ViewAugDataPreprocessor', **NORM,
        view_aug=dict(type='DeviceViewAugment',
                      views=[[dict(type='RandomFlip', prob=1.0)]])))
    data = batch(views=1)
    x = data['inputs'][0]
    out = pre(dict(inputs=x, data_samples=None), training=True)['inputs']
    plain = SelfSupDataPreprocessor(**NORM)(
        dict(inputs=x.flip(-1), data_samples=None))['inputs']
    assert isinstance(out, torch.Tensor)
    torch.testing.assert_close(out, plain)


def test_bad_view_aug_is_a_clear_error():
    with pytest.raises(TypeError, match='view_aug must be'):
        ViewAugDataPreprocessor(view_aug=3, **NORM)


def flip_pre():
    return ViewAugDataPreprocessor(
        **NORM, view_aug=dict(type='DeviceViewAugment',
                              views=[[dict(type='RandomFlip', prob=0.5)]]))


def flips(pre, data, calls=3):
    """Which images were flipped, over a few calls."""
    x = data['inputs'][0]
    plain = SelfSupDataPreprocessor(**NORM)(
        dict(inputs=x, data_samples=None))['inputs']
    out = [pre(dict(inputs=[x], data_samples=None), training=True)['inputs']
           [0] for _ in range(calls)]
    return torch.stack([(o - plain).flatten(1).abs().amax(1) > 0
                        for o in out])


def test_own_stream_per_rank_reproducible_and_apart_from_the_model(
        monkeypatch):
    data = batch(n=64, views=1)
    torch.manual_seed(0)
    a = flips(flip_pre(), data)
    torch.manual_seed(0)
    pre = flip_pre()
    torch.rand(5)  # the model drawing in between does not shift the stream
    b = flips(pre, data)
    assert torch.equal(a, b)
    assert 0 < a.float().mean() < 1 and not torch.equal(a[0], a[1])
    monkeypatch.setattr('mmengine.dist.get_rank', lambda: 1)
    torch.manual_seed(0)
    c = flips(flip_pre(), data)
    assert not torch.equal(a, c)  # rank 1 draws its own flips
