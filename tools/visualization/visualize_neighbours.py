"""What a pretrained encoder finds similar: nearest neighbours in a folder.

    .venv/bin/python tools/visualization/visualize_neighbours.py \\
        CONFIG CKPT --images FOLDER --out nn.png [--map map.png]
    .venv/bin/python tools/visualization/visualize_neighbours.py \\
        CONFIG --random-init --images FOLDER --out nn_random.png

Every image of FOLDER (sub-folders included) goes through mmpretrain's
FeatureExtractor for CONFIG and CKPT (the config's test pipeline and data
preprocessor; one vector per image: the ViT's class token, the ResNet's
pooled last stage), in batches, with a progress bar. For ``--num-queries``
images drawn at random (``--seed``) or the ``--query`` files, the picture
shows the ``--k`` most similar other images of the folder by cosine
similarity, the similarity under each; the search is one matrix product on
``--device``. When FOLDER holds class sub-folders (FOLDER/<class>/<image>),
neighbours are framed green (the query's class) or red, and the label
precision of the k nearest neighbours over the whole folder is printed.
``--map`` draws a 2-D map (t-SNE, or UMAP with umap-learn installed) of the
folder's features, coloured by class sub-folder: fitted on ``--map-sample``
images drawn at random (5,000; 0: all), every other image placed among its
5 most similar sampled images. ``--workers``
processes load the images and, on the CPU, run the model on them, one thread
each (the same features as without).
"""
import os

# OpenMP threads that wait sleep instead of spinning (libgomp reads this when
# it loads, so before the imports below; set it to override): under the
# shared 2-core machine's load the t-SNE of 2,000 images took 14 s instead of
# 58 s, the same map (2026-12-04).
os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')

import argparse
import json
import os.path as osp
import sys
import time
import warnings

import cv2
import mmcv
import numpy as np
import torch
from mmengine.config import Config, DictAction


def default_workers() -> int:
    """Loader processes: one per core this process may use, at most 8."""
    cores = (len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity')
             else os.cpu_count() or 1)
    return min(8, cores)


def _map_sample(text: str) -> int:
    """``--map-sample``: 0 or an integer of at least ``MIN_SAMPLE``."""
    from mmsymmim.visualization.embedding_map import check_sample
    try:
        return check_sample(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def parse_args(argv=None):
    from mmsymmim.visualization.embedding_map import DEFAULT_SAMPLE, METHODS
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('config', help='pretraining (or any mmpretrain) config')
    p.add_argument('checkpoint', nargs='?', help='checkpoint of that config')
    p.add_argument('--random-init', action='store_true',
                   help='the randomly initialised encoder (no checkpoint)')
    p.add_argument('--images', required=True, help='folder of images')
    p.add_argument('--out', default='neighbours.png', help='output PNG')
    p.add_argument('--k', type=int, default=8, help='neighbours per query')
    p.add_argument('--num-queries', type=int, default=6,
                   help='random query images (ignored with --query)')
    p.add_argument('--query', nargs='+', help='query image files')
    p.add_argument('--json', help='also write the neighbours (paths, '
                   'similarities) and the label precision as JSON here')
    p.add_argument('--map', help='also write a 2-D map of the features here')
    p.add_argument('--map-method', default='tsne', help="'tsne' or 'umap'")
    p.add_argument('--map-sample', type=_map_sample, default=DEFAULT_SAMPLE,
                   metavar='N',
                   help=f'images the map is fitted on ({DEFAULT_SAMPLE}); '
                   'the others are placed by their nearest sampled images; '
                   '0: fit every image (slow beyond ~10,000)')
    p.add_argument('--batch-size', type=int, default=256)
    p.add_argument('--workers', '--num-workers', dest='num_workers',
                   type=int, default=default_workers(), metavar='N',
                   help='processes that load the images and, on the CPU, '
                   'run the model, one thread each (default: one per core, '
                   'at most 8: %(default)s here; 0: this process only)')
    p.add_argument('--seed', type=int, default=0,
                   help='seed of the random queries, the random init, the map')
    p.add_argument('--device', default='cpu', help="e.g. 'cuda:0'")
    p.add_argument('--cfg-options', nargs='+', action=DictAction,
                   help='override config settings, as in tools/train.py')
    args = p.parse_args(argv)
    if bool(args.checkpoint) == args.random_init:
        p.error('give a checkpoint or --random-init (not both)')
    for name in ('k', 'num_queries', 'batch_size'):
        if getattr(args, name) < 1:
            p.error(f'--{name.replace("_", "-")} must be at least 1, got '
                    f'{getattr(args, name)}')
    if args.num_workers < 0:
        p.error(f'--workers must be 0 or more, got {args.num_workers}')
    if args.map_method not in METHODS:
        p.error(f'--map-method must be one of {", ".join(METHODS)}, got '
                f'{args.map_method!r}')
    return args


def build_extractor(cfg, args):
    """mmpretrain's FeatureExtractor for the config (and checkpoint)."""
    from mmpretrain.apis import FeatureExtractor
    if 'test_dataloader' not in cfg:
        raise SystemExit(
            f'{args.config} has no test_dataloader: mmpretrain\'s inferencers '
            'read its test pipeline (see configs/_base_/inference_224px.py)')
    extractor = FeatureExtractor(cfg, pretrained=args.checkpoint or False,
                                 device=args.device)
    if args.random_init:  # as training starts: the model's own init
        from mmengine.logging import MMLogger
        logger = MMLogger.get_current_instance()
        level = logger.level
        logger.setLevel('WARNING')  # not the init report of every tensor
        try:
            torch.manual_seed(args.seed)
            extractor.model.init_weights()
        finally:
            logger.setLevel(level)
    return extractor


def embed_folder(extractor, paths, args):
    """Normalised features ``(N, C)`` of the readable ``paths`` and their
    indices."""
    from mmengine.utils import ProgressBar

    from mmsymmim.visualization.neighbours import embed_files
    bar = ProgressBar(len(paths), file=sys.stderr)
    start = time.time()
    try:
        feats, kept = embed_files(extractor.model, paths, extractor.pipeline,
                                  args.batch_size, args.num_workers,
                                  progress=bar.update)
    except ValueError:  # not one file decoded
        raise SystemExit(f'--images: none of the {len(paths)} image files '
                         f'under {args.images} decodes') from None
    took = time.time() - start
    sys.stderr.write('\n')
    print(f'features: {len(feats)} images in {took:.1f} s '
          f'({len(feats) / took:.0f} images/s, {args.num_workers} workers, '
          f'{args.device})')
    kept = kept.tolist()
    if len(kept) < len(paths):
        bad = sorted(set(range(len(paths))) - set(kept))
        warnings.warn(f'{len(bad)} file(s) did not decode and are left out: '
                      + ', '.join(paths[i] for i in bad[:5]) +
                      (' ...' if len(bad) > 5 else ''))
    return feats, kept


def choose_queries(extractor, feats, paths, args):
    """Query features, their rows in ``feats`` (-1: outside the folder) and
    their images."""
    from mmsymmim.visualization.image_folder import folder_batches
    from mmsymmim.visualization.neighbours import embed
    if not args.query:
        n = min(args.num_queries, len(paths))
        rows = np.random.default_rng(args.seed).choice(len(paths), n,
                                                       replace=False)
        rows = torch.as_tensor(np.sort(rows))
        return feats[rows.to(feats.device)], rows, [paths[i] for i in rows]
    where = {osp.realpath(p): i for i, p in enumerate(paths)}
    rows = torch.tensor([where.get(osp.realpath(q), -1) for q in args.query])
    missing = [q for q in args.query if not osp.isfile(q)]
    if missing:
        raise SystemExit(f'--query: no such file: {", ".join(missing)}')
    batches = folder_batches(list(args.query), extractor.pipeline,
                             args.batch_size)
    idx, data = next(iter(batches))
    if len(idx) < len(args.query):
        raise SystemExit('--query: ' + ', '.join(
            q for i, q in enumerate(args.query) if i not in idx) +
            ' did not decode')
    return embed(extractor.model, [data]), rows, list(args.query)


def main(argv=None):
    args = parse_args(argv)
    import mmsymmim  # noqa: F401  registers modules
    from mmsymmim.visualization.image_folder import folder_classes, list_images
    from mmsymmim.visualization.neighbours import (
        draw_neighbours,
        label_precision,
        nearest,
        tile_size,
    )
    try:
        paths = list_images(args.images)
    except FileNotFoundError as e:
        raise SystemExit(f'--images: {e}')
    if len(paths) < 2:
        raise SystemExit(f'--images: {args.images} holds {len(paths)} image '
                         'file(s); neighbours need at least 2')
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    start = time.time()
    extractor = build_extractor(cfg, args)
    feats, kept = embed_folder(extractor, paths, args)
    paths = [paths[i] for i in kept]
    labels, names = folder_classes(paths, args.images)
    q_feats, rows, q_paths = choose_queries(extractor, feats, paths, args)
    sims, index = nearest(feats, q_feats, args.k, exclude=rows)
    sims, index = sims.cpu().numpy(), index.cpu().numpy()

    size = extractor.pipeline(dict(
        img=np.zeros((8, 8, 3), np.uint8), img_shape=(8, 8),
        ori_shape=(8, 8)))['inputs'].shape[-1]
    same = captions = None
    if labels is not None:
        q_lab = [int(labels[r]) if r >= 0 else -1 for r in rows.tolist()]
        same = labels.numpy()[index] == np.array(q_lab)[:, None]
        captions = [names[c] if c >= 0 else 'query' for c in q_lab]
    picture = draw_neighbours(
        [mmcv.imread(p) for p in q_paths],
        [[mmcv.imread(paths[j]) for j in row] for row in index], sims,
        tile_size(size), same, captions)
    if not cv2.imwrite(args.out, picture, [cv2.IMWRITE_PNG_COMPRESSION, 9]):
        raise OSError(f'could not write {args.out}')
    print(f'wrote {args.out} ({len(q_paths)} queries x {sims.shape[1]} '
          f'neighbours of {len(paths)} images, {time.time() - start:.1f} s)')
    result = dict(images=len(paths), k=int(sims.shape[1]), queries=[
        dict(query=q, neighbours=[
            dict(path=paths[j], similarity=round(float(v), 6))
            for j, v in zip(row, vals)])
        for q, row, vals in zip(q_paths, index, sims)])
    if labels is not None:
        k = min(args.k, len(paths) - 1)
        result[f'precision@{k}'] = label_precision(feats, labels, k)
        print(f'label precision of the {k} nearest neighbours: '
              f'{result[f"precision@{k}"]:.2f} % ({len(names)} classes)')
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(result, f, indent=1)
    if args.map:
        from mmsymmim.visualization.embedding_map import (
            PLACE_K,
            draw_map,
            project_2d,
        )
        start = time.time()
        coords = project_2d(feats.cpu().numpy(), args.map_method, args.seed,
                            args.map_sample)
        fitted = len(paths) if args.map_sample == 0 else min(
            len(paths), args.map_sample)
        how = f'{args.map_method} of {len(paths)} images' + (
            '' if fitted == len(paths) else
            f' ({fitted} fitted, the rest by their {PLACE_K} nearest)')
        draw_map(coords, args.map, None if labels is None else
                 labels.numpy(), names,
                 f'{how}: {osp.basename(args.checkpoint or "random init")}')
        took = time.time() - start
        print(f'wrote {args.map}: {how} in {took:.1f} s '
              f'({len(paths) / took:.0f} images/s)')


if __name__ == '__main__':
    main()
