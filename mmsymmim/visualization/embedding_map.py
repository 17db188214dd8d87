"""A 2-D map of a collection's features: t-SNE (scikit-learn) or UMAP
(umap-learn, if installed), drawn as a scatter plot coloured by class when
the images have classes.

Large collections: the map is fitted on ``sample`` images drawn at random
(seeded) and every other image is placed among its ``PLACE_K`` most similar
sampled images (cosine, one matrix product per chunk of images; see
:func:`place`), so beyond the sample the map costs only that search.
"""
from typing import Callable, List, Optional

import numpy as np

METHODS = ('tsne', 'umap')
DEFAULT_SAMPLE = 5000  # images fitted by t-SNE; 0: every image
MIN_SAMPLE = 100
PLACE_K = 5  # sampled neighbours that place an image outside the sample


def check_sample(value) -> int:
    """``value`` (int or text) as an int when it is 0 (every image) or an
    integer of at least ``MIN_SAMPLE``; ValueError naming both otherwise."""
    try:
        sample = int(value)
        ok = sample == 0 or sample >= MIN_SAMPLE
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ValueError(f'must be 0 (fit every image) or an integer of at '
                         f'least {MIN_SAMPLE}, got {value!r}')
    return sample


def fit_2d(feats: np.ndarray, method: str = 'tsne',
           seed: int = 0) -> np.ndarray:
    """``(N, 2)`` coordinates of ``(N, C)`` L2-normalised features, every
    image fitted.

    ``tsne``: scikit-learn's TSNE on cosine distances (perplexity 30, or
    N / 4 for small sets), PCA init. ``umap``: umap-learn's UMAP, cosine
    metric (``pip install umap-learn``).
    """
    n = len(feats)
    if method == 'umap':
        try:
            import umap
        except ImportError:
            raise ImportError("method 'umap' needs umap-learn: "
                              '.venv/bin/python -m pip install umap-learn '
                              "(or use 'tsne')") from None
        return umap.UMAP(n_neighbors=min(15, n - 1), metric='cosine',
                         random_state=seed).fit_transform(feats)
    from sklearn.manifold import TSNE
    return TSNE(n_components=2, perplexity=min(30.0, max(1.0, (n - 1) / 4)),
                metric='cosine', init='pca', random_state=seed
                ).fit_transform(feats)


def sample_rows(n: int, sample: int, seed: int = 0) -> np.ndarray:
    """Sorted ``(min(n, sample),)`` rows drawn without replacement (every
    row when ``sample`` is 0 or at least ``n``)."""
    if sample == 0 or sample >= n:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, sample,
                                                      replace=False))


def place(feats: np.ndarray, rows: np.ndarray, coords: np.ndarray,
          k: int = PLACE_K) -> np.ndarray:
    """``(N, 2)`` map of all ``(N, C)`` normalised ``feats`` from the
    ``(S, 2)`` ``coords`` of the sampled ``rows``: those keep their
    coordinates; each other image gets the mean position of the majority of
    its ``k`` most similar sampled images, the ``(k + 1) // 2`` closest to
    their medoid (so one whose neighbours span two clusters lands in the
    cluster of most of them, not between)."""
    import torch

    from .neighbours import nearest
    out = np.empty((len(feats), 2), dtype=np.float64)
    out[rows] = coords
    rest = np.ones(len(feats), bool)
    rest[rows] = False
    if rest.any():
        f = torch.from_numpy(np.ascontiguousarray(feats, np.float32))
        _, index = nearest(f[torch.from_numpy(rows)],
                           f[torch.from_numpy(rest)], k, chunk=4096)
        pos = coords[index.numpy()]  # (R, k, 2)
        dist = np.linalg.norm(pos[:, :, None] - pos[:, None], axis=3)
        centre = dist.sum(2).argmin(1)  # (R,) the medoid
        near = np.argsort(dist[np.arange(len(pos)), centre], axis=1)
        keep = near[:, :(pos.shape[1] + 1) // 2, None]  # (R, k', 1)
        out[rest] = np.take_along_axis(pos, keep, axis=1).mean(axis=1)
    return out


def project_2d(feats: np.ndarray, method: str = 'tsne', seed: int = 0,
               sample: int = DEFAULT_SAMPLE,
               fit: Optional[Callable] = None) -> np.ndarray:
    """``(N, 2)`` coordinates of ``(N, C)`` L2-normalised features:
    :func:`fit_2d` on ``sample`` rows drawn with ``seed`` (0: every row), the
    others placed by :func:`place`. ``fit(feats, method, seed)`` replaces
    :func:`fit_2d` (tests)."""
    if method not in METHODS:
        raise ValueError(f'project_2d: method must be one of {METHODS}, '
                         f'got {method!r}')
    try:
        check_sample(sample)
    except ValueError as e:
        raise ValueError(f'project_2d: sample {e}') from None
    n = len(feats)
    if n < 3:
        raise ValueError(f'project_2d: a map needs at least 3 images, '
                         f'got {n}')
    rows = sample_rows(n, sample, seed)
    coords = (fit or fit_2d)(feats[rows], method, seed)
    return coords if len(rows) == n else place(feats, rows, coords)


def draw_map(coords: np.ndarray, out: str, labels: Optional[np.ndarray] = None,
             names: Optional[List[str]] = None, title: str = '') -> None:
    """Scatter ``coords`` to the PNG ``out``: one colour per class (legend
    from ``names``) or one colour when ``labels`` is None."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6.4, 5.6), dpi=100)
    size = max(2.0, min(20.0, 6000 / len(coords)))
    if labels is None:
        ax.scatter(coords[:, 0], coords[:, 1], s=size, c='tab:blue',
                   linewidths=0)
    else:
        cmap = plt.get_cmap('tab10' if len(names) <= 10 else 'tab20')
        for c, name in enumerate(names):
            m = labels == c
            ax.scatter(coords[m, 0], coords[m, 1], s=size, linewidths=0,
                       color=cmap(c % cmap.N), label=name)
        ax.legend(fontsize=7, markerscale=8 / size ** .5, loc='best',
                  framealpha=0.8)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)
