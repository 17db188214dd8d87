"""mmsymmim/visualization/embedding_map.py: the map of a large collection is
fitted on a sample, every other image placed by its nearest sampled ones."""
import numpy as np
import pytest

from mmsymmim.visualization.embedding_map import (
    MIN_SAMPLE,
    PLACE_K,
    check_sample,
    fit_2d,
    project_2d,
    sample_rows,
)


def features(n: int, clusters: int = 3, seed: int = 0) -> np.ndarray:
    """``(n, 16)`` L2-normalised features around ``clusters`` directions."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(clusters, 16)) * 4
    f = centres[np.arange(n) % clusters] + rng.normal(size=(n, 16))
    return (f / np.linalg.norm(f, axis=1, keepdims=True)).astype(np.float32)


class Fit:
    """A stand-in for t-SNE: random coordinates, and what it was given."""

    def __init__(self):
        self.calls = []

    def __call__(self, feats, method, seed):
        self.calls.append(feats)
        self.coords = np.random.default_rng(1).normal(size=(len(feats), 2))
        return self.coords


@pytest.mark.parametrize('n, sample', [(400, 100), (400, 0), (150, 200),
                                       (101, 100)])
def test_every_image_gets_a_finite_position(n, sample):
    feats = features(n)
    fit = Fit()
    coords = project_2d(feats, sample=sample, seed=3, fit=fit)
    assert coords.shape == (n, 2) and np.isfinite(coords).all()
    rows = sample_rows(n, sample, seed=3)
    assert len(rows) == (n if sample == 0 or sample >= n else sample)
    (fitted, ) = fit.calls  # one fit, on the sampled rows only
    np.testing.assert_array_equal(fitted, feats[rows])
    np.testing.assert_array_equal(coords[rows], fit.coords)


def test_an_image_outside_the_sample_sits_at_its_nearest_sampled_ones():
    n = 600
    feats = features(n)
    rows = sample_rows(n, 150, seed=0)
    corners = np.array([[0., 0.], [100., 0.], [0., 100.]])

    def fit(f, method, seed):  # each sampled image at its cluster's corner
        return corners[rows % 3] + np.random.default_rng(0).normal(
            size=(len(f), 2))

    coords = project_2d(feats, sample=150, seed=0, fit=fit)
    rest = np.setdiff1d(np.arange(n), rows)
    # among the majority of its PLACE_K nearest sampled images: its cluster
    dist = np.linalg.norm(coords[rest] - corners[rest % 3], axis=1)
    assert PLACE_K == 5 and (dist < 5).mean() > 0.95, np.sort(dist)[-10:]
    # sampled rows are drawn without repeats, sorted, with the seed
    assert (np.diff(rows) > 0).all()
    np.testing.assert_array_equal(rows, sample_rows(n, 150, seed=0))
    assert not np.array_equal(rows, sample_rows(n, 150, seed=1))


def test_sampled_images_keep_their_tsne_positions():
    """The real t-SNE on a sample of 120 of 300 images (one OpenMP thread:
    1,000 short iterations lose seconds to spinning threads on a busy
    CPU)."""
    from threadpoolctl import threadpool_limits
    feats = features(300)
    seen = {}

    def tsne(f, method, seed):
        with threadpool_limits(1):
            seen['coords'] = fit_2d(f, method, seed)
        return seen['coords']

    coords = project_2d(feats, 'tsne', seed=0, sample=120, fit=tsne)
    assert coords.shape == (300, 2) and np.isfinite(coords).all()
    np.testing.assert_array_equal(coords[sample_rows(300, 120, 0)],
                                  seen['coords'])


@pytest.mark.parametrize('value', [-1, 1, MIN_SAMPLE - 1, '50', 'many',
                                   '1.5', None])
def test_bad_sample_sizes_name_the_allowed_values(value):
    message = (f'must be 0 (fit every image) or an integer of at least '
               f'{MIN_SAMPLE}, got {value!r}')
    with pytest.raises(ValueError) as e:
        check_sample(value)
    assert str(e.value) == message
    if isinstance(value, int):
        with pytest.raises(ValueError, match=r'^project_2d: sample must be'):
            project_2d(features(200), sample=value)


@pytest.mark.parametrize('value, expected', [(0, 0), ('0', 0),
                                             (MIN_SAMPLE, MIN_SAMPLE),
                                             ('5000', 5000)])
def test_good_sample_sizes(value, expected):
    assert check_sample(value) == expected
