"""Draw the nearest-neighbours picture every N iterations, during training."""
import copy
from typing import Optional

import mmcv
import numpy as np
import torch
from mmengine.dataset import Compose
from mmengine.dist import master_only
from mmengine.hooks import Hook

from mmpretrain.registry import DATASETS, HOOKS, TRANSFORMS
from ...visualization.neighbours import (
    draw_neighbours,
    embed,
    label_precision,
    nearest,
    tile_size,
)
from ...visualization.reconstruction import default_dataset
from .hook_utils import bare_model, save_picture


def test_pipeline(cfg) -> Compose:
    """The config's test pipeline as mmpretrain's inferencers build it
    (``test_dataloader.dataset.pipeline`` without LoadImageFromFile)."""
    from mmpretrain.datasets import remove_transform
    try:
        steps = cfg.test_dataloader.dataset.pipeline
    except AttributeError:
        raise ValueError(
            'NeighboursVisHook needs the config\'s test pipeline '
            '(test_dataloader.dataset.pipeline), as mmpretrain\'s '
            'FeatureExtractor does; see configs/_base_/inference_224px.py'
        ) from None
    steps = remove_transform(copy.deepcopy(steps), 'LoadImageFromFile')
    return Compose([TRANSFORMS.build(t) for t in steps])


@HOOKS.register_module()
class NeighboursVisHook(Hook):
    """Every ``interval`` training iterations, embed the first
    ``num_images`` images of a dataset with the model being trained
    (``extract_feat`` through the config's test pipeline, as mmpretrain's
    FeatureExtractor does; ViT class token / ResNet pooled map) and draw,
    for ``num_queries`` images (the same ones each time, drawn with
    ``seed``), their ``k`` nearest other images by cosine similarity (see
    :mod:`mmsymmim.visualization.neighbours`).

    The picture goes to ``work_dir/<out_dir>/neighbours_iter_XXXX.png``
    (beside :class:`ReconstructionVisHook`'s grids) and, as image
    ``'neighbours'``, to the visualizer's backends. When the images have
    labels (``gt_label``, e.g. the demo's Fashion-MNIST test set) the
    neighbours are framed green (query's class) or red and the label
    precision of the ``k`` nearest neighbours over all ``num_images`` is
    logged (``neighbours/precision@k``). The images are loaded at the first
    picture, so runs shorter than ``interval`` pay nothing. Main process
    only, model in eval mode meanwhile.

    Args:
        interval (int): iterations between pictures. Defaults to 100.
        num_images (int): the collection searched. Defaults to 1000.
        num_queries (int): rows. Defaults to 6.
        k (int): neighbours per row. Defaults to 8.
        dataset (dict, optional): dataset config to take the images from
            (its pipeline is replaced by the test pipeline). None: the
            config's k-NN test set if it has a ``KNNEvalHook``, else its
            train set.
        batch_size (int): images per forward pass. Defaults to 250.
        seed (int): seed of the queries. Defaults to 0.
        out_dir (str): folder under the work dir. Defaults to 'vis'.
        at_start (bool): also draw before the first iteration
            (``neighbours_iter_0000.png``: the initial encoder, e.g. random
            init). Defaults to False.
    """
    priority = 'LOW'

    def __init__(self,
                 interval: int = 100,
                 num_images: int = 1000,
                 num_queries: int = 6,
                 k: int = 8,
                 dataset: Optional[dict] = None,
                 batch_size: int = 250,
                 seed: int = 0,
                 out_dir: str = 'vis',
                 at_start: bool = False) -> None:
        for name, value in (('interval', interval), ('num_images',
                                                     num_images),
                            ('num_queries', num_queries), ('k', k),
                            ('batch_size', batch_size)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f'NeighboursVisHook: `{name}` must be a '
                                 f'positive int, got {value!r}')
        if num_images < 2:
            raise ValueError('NeighboursVisHook: `num_images` must be at '
                             f'least 2, got {num_images}')
        self.interval, self.num_images = interval, num_images
        self.num_queries, self.k = min(num_queries, num_images), k
        self.dataset, self.batch_size = dataset, batch_size
        self.seed, self.out_dir, self.at_start = seed, out_dir, at_start
        self._pipeline = self._data = None

    @master_only
    def before_train(self, runner) -> None:
        if not hasattr(bare_model(runner), 'extract_feat'):
            raise TypeError('NeighboursVisHook needs a model with '
                            '`extract_feat`, got '
                            f'{type(bare_model(runner)).__name__}')
        self._pipeline = test_pipeline(runner.cfg)
        self._ds_cfg = self.dataset or default_dataset(runner.cfg)
        if self.at_start and runner.iter == 0:
            self._write(runner, 0)

    def _load(self) -> dict:
        """The images as shown, the packed inputs, labels and class names."""
        ds_cfg = copy.deepcopy(self._ds_cfg)
        while isinstance(ds_cfg.get('dataset'), dict):  # wrappers
            ds_cfg = ds_cfg['dataset']
        ds_cfg.update(pipeline=[])
        dataset = DATASETS.build(ds_cfg)
        shown, inputs, labels = [], [], []
        for i in range(len(dataset)):
            info = dataset.get_data_info(i)
            img = info['img'] if 'img' in info else mmcv.imread(
                info['img_path'])
            if img is None:
                continue
            packed = self._pipeline(
                dict(img=img, img_shape=img.shape[:2],
                     ori_shape=img.shape[:2]))
            shown.append(img)
            inputs.append(packed['inputs'])
            labels.append(info.get('gt_label', -1))
            if len(shown) == self.num_images:
                break
        if len(shown) < 2:
            raise ValueError('NeighboursVisHook: fewer than 2 readable '
                             f'images in {ds_cfg.get("type")}')
        labels = torch.as_tensor(np.asarray(labels, np.int64))
        rows = np.random.default_rng(self.seed).choice(
            len(shown), min(self.num_queries, len(shown)), replace=False)
        return dict(shown=shown, inputs=torch.stack(inputs),
                    labels=None if (labels < 0).any() else labels,
                    names=dataset.metainfo.get('classes'),
                    rows=torch.as_tensor(np.sort(rows)))

    def picture(self, model) -> tuple:
        """``(BGR picture, label precision in % or None)`` for ``model``."""
        if self._data is None:
            self._data = self._load()
        d = self._data
        device = next(model.parameters()).device
        feats = embed(model, (dict(inputs=x.to(device), data_samples=None)
                              for x in d['inputs'].split(self.batch_size)))
        rows = d['rows'].to(device)
        sims, index = nearest(feats, feats[rows], self.k, exclude=rows)
        sims, index = sims.cpu().numpy(), index.cpu().numpy()
        same = captions = precision = None
        if d['labels'] is not None:
            lab = d['labels'].numpy()
            same = lab[index] == lab[d['rows'].numpy()][:, None]
            if d['names']:
                captions = [str(d['names'][lab[r]]) for r in d['rows']]
            precision = label_precision(feats, d['labels'], index.shape[1])
        picture = draw_neighbours(
            [d['shown'][r] for r in d['rows']],
            [[d['shown'][j] for j in row] for row in index], sims,
            tile_size(d['inputs'].shape[-1]), same, captions)
        return picture, precision

    @master_only
    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs=None) -> None:
        if self.every_n_train_iters(runner, self.interval):
            self._write(runner, runner.iter + 1)

    def _write(self, runner, step: int) -> None:
        picture, precision = self.picture(bare_model(runner))
        save_picture(runner, picture, self.out_dir,
                     f'neighbours_iter_{step:04d}.png', 'neighbours', step)
        if precision is not None:
            key = f'neighbours/precision@{self.k}'
            runner.visualizer.add_scalars({key: precision}, step=step)
            runner.logger.info(f'{key}: {precision:.2f} % '
                               f'({len(self._data["shown"])} images)')
