"""A 2-D map of a collection's features: t-SNE (scikit-learn) or UMAP
(umap-learn, if installed), drawn as a scatter plot coloured by class when
the images have classes."""
from typing import List, Optional

import numpy as np

METHODS = ('tsne', 'umap')


def project_2d(feats: np.ndarray, method: str = 'tsne',
               seed: int = 0) -> np.ndarray:
    """``(N, 2)`` coordinates of ``(N, C)`` L2-normalised features.

    ``tsne``: scikit-learn's TSNE on cosine distances (perplexity 30, or
    N / 4 for small sets), PCA init. ``umap``: umap-learn's UMAP, cosine
    metric (``pip install umap-learn``).
    """
    if method not in METHODS:
        raise ValueError(f'project_2d: method must be one of {METHODS}, '
                         f'got {method!r}')
    n = len(feats)
    if n < 3:
        raise ValueError(f'project_2d: a map needs at least 3 images, '
                         f'got {n}')
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
