"""Compose a small dense-prediction benchmark from Fashion-MNIST garments.

    python tools/dataset_converters/make_fmnist_scenes.py \
        --out data/fmnist_scenes

Each scene is a ``--size`` x ``--size`` (64) grey canvas with a faint
background (smoothed noise plus a gradient or stripes) and 2-5 garments
(``--min-objects`` / ``--max-objects``), each a Fashion-MNIST image resized to
a random square side of 16-40 px (``--min-scale`` / ``--max-scale``), placed
fully inside the canvas and pasted in order, so later garments occlude earlier
ones. A garment's own pixels are those above ``--threshold`` (10) after the
resize; only those are pasted (the background shows around them), and its
instance mask is those pixels minus whatever later garments cover.

Occlusion: no garment is dropped. Each placement (garment, side, position) is
re-drawn, up to 50 times, until every garment already in the scene keeps at
least ``--min-visible`` (0.2) of its own pixels and at least 12 pixels
visible; a scene whose garment finds no such place is drawn again from
scratch. So every pasted garment is annotated, and the semantic map is exactly
the union of the instance masks.

Splits (``--train 4000 --val 500 --test 500`` scenes): train draws from the
60,000 train images, val from the first 5,000 test images and test from the
last 5,000, so val and test never share a garment. Scene ``i`` of a split
depends only on ``(--seed, split, i)``. Output under ``--out``::

    images/{train,val,test}/{id:06d}.png   8-bit grey
    seg/{train,val,test}/{id:06d}.png      0 background, class c (0-9) -> c+1
    annotations/instances_{train,val,test}.json
        COCO: bbox / area of the visible mask, RLE segmentation, categories
        1-10; each annotation also names its source image (``fmnist_index``
        into the Fashion-MNIST file of its ``fmnist_split``)
    meta.json                              options and counts

For mmseg use ``classes = ('background', *CLASSES)``, ``reduce_zero_label=
False``. The folder is built next to ``--out`` and renamed into place at the
end (meta.json written last), so a half-written folder never appears under
``--out``; an existing ``--out`` is replaced only if it holds a meta.json.
"""
import argparse
import json
import os
import os.path as osp
import shutil
import time

import cv2
import numpy as np
from pycocotools import mask as mask_utils

from mmsymmim.datasets.fashion_mnist import DEFAULT_ROOT, FILES, read_idx

CLASSES = ('T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal',
           'Shirt', 'Sneaker', 'Bag', 'Ankle boot')
SPLITS = ('train', 'val', 'test')
MIN_PIXELS = 12  # a visible mask never has fewer pixels
TRIES = 50  # placements per garment before the scene is drawn again
RESTARTS = 100  # scenes drawn before giving up


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--out', default='data/fmnist_scenes')
    p.add_argument('--data-root', default=DEFAULT_ROOT,
                   help='folder with the Fashion-MNIST *-ubyte.gz files')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--size', type=int, default=64, help='canvas side (px)')
    p.add_argument('--min-objects', type=int, default=2)
    p.add_argument('--max-objects', type=int, default=5)
    p.add_argument('--min-scale', type=int, default=16,
                   help='smallest garment side (px)')
    p.add_argument('--max-scale', type=int, default=40)
    p.add_argument('--min-visible', type=float, default=0.2,
                   help="least visible fraction of a garment's own pixels")
    p.add_argument('--threshold', type=int, default=10,
                   help='a garment pixel is its own if above this (0-254)')
    for split, n in zip(SPLITS, (4000, 500, 500)):
        p.add_argument(f'--{split}', type=int, default=n,
                       help=f'{split} scenes ({n})')
    a = p.parse_args(argv)
    for key in ('size', 'min_objects', 'min_scale', *SPLITS):
        if getattr(a, key) < 1:
            p.error(f'--{key.replace("_", "-")} must be >= 1, '
                    f'got {getattr(a, key)}')
    if a.max_objects < a.min_objects:
        p.error(f'--max-objects must be >= --min-objects ({a.min_objects}), '
                f'got {a.max_objects}')
    if not a.min_scale <= a.max_scale <= a.size:
        p.error(f'--max-scale must be in [--min-scale, --size] = '
                f'[{a.min_scale}, {a.size}], got {a.max_scale}')
    if not 0 <= a.min_visible <= 1:
        p.error(f'--min-visible must be in [0, 1], got {a.min_visible}')
    if not 0 <= a.threshold <= 254:
        p.error(f'--threshold must be in [0, 254], got {a.threshold}')
    paths = [osp.join(a.data_root, f) for f in FILES['train'] + FILES['test']]
    missing = [q for q in paths if not osp.isfile(q)]
    if missing:
        p.error(f'--data-root: {missing[0]} not found; install Debian\'s '
                f'dataset-fashion-mnist (apt-get install '
                f'dataset-fashion-mnist) or point --data-root at its files')
    out = osp.abspath(a.out)
    if osp.exists(out) and not osp.isfile(osp.join(out, 'meta.json')):
        p.error(f'--out: {out} exists and is not a scenes folder (no '
                f'meta.json); remove it or choose another path')
    return a


def load_fmnist(root):
    """``{'train': (uint8 (60000, 28, 28), int64 (60000,)), 'test': ...}``."""
    out = {}
    for split, (imgs, labels) in FILES.items():
        x = read_idx(osp.join(root, imgs), header=16).reshape(-1, 28, 28)
        out[split] = (x, read_idx(osp.join(root, labels), 8).astype(np.int64))
    return out


def split_pool(split, fmnist):
    """``(source split, indices into it)`` the garments of ``split`` come
    from: all train images; the first / last half of the test images."""
    if split == 'train':
        return 'train', np.arange(len(fmnist['train'][1]))
    n = len(fmnist['test'][1])
    return 'test', (np.arange(n // 2) if split == 'val' else
                    np.arange(n // 2, n))


def background(rng, size):
    """uint8 (size, size): dark smoothed noise plus a gradient or stripes."""
    g = int(rng.integers(3, 9))
    smooth = cv2.resize(rng.standard_normal((g, g)).astype(np.float32),
                        (size, size), interpolation=cv2.INTER_CUBIC)
    yy, xx = np.mgrid[:size, :size] / size
    angle = rng.uniform(0, np.pi)
    t = xx * np.cos(angle) + yy * np.sin(angle)
    if rng.random() < 0.5:  # gradient
        texture = rng.uniform(5, 20) * (t - t.mean())
    else:  # stripes
        texture = rng.uniform(2, 6) * np.sin(
            2 * np.pi * rng.uniform(2, 8) * t + rng.uniform(0, 2 * np.pi))
    bg = (rng.uniform(15, 45) + rng.uniform(3, 8) * smooth + texture +
          rng.normal(0, 1.5, (size, size)))
    return np.clip(np.rint(bg), 0, 255).astype(np.uint8)


def make_scene(rng, garments, labels, opts):
    """One scene from the pool ``garments`` (uint8 (N, 28, 28)) with
    ``labels`` (N,): returns ``(image uint8 (S, S), masks bool (K, S, S),
    classes int (K,) 0-9, sources int (K,) indices into garments)``; masks
    are the visible parts, disjoint, each >= max(12 px, min_visible * own)."""
    S = opts.size
    for _ in range(RESTARTS):
        k = int(rng.integers(opts.min_objects, opts.max_objects + 1))
        image = background(rng, S)
        masks = np.zeros((0, S, S), bool)
        need = np.zeros(0, np.int64)  # least visible pixels of each
        picked = []
        for _ in range(k):
            for _ in range(TRIES):
                idx = int(rng.integers(len(garments)))
                side = int(rng.integers(opts.min_scale, opts.max_scale + 1))
                y, x = rng.integers(0, S - side + 1, size=2)
                g = cv2.resize(garments[idx], (side, side), interpolation=(
                    cv2.INTER_AREA if side < 28 else cv2.INTER_LINEAR))
                own = np.zeros((S, S), bool)
                own[y:y + side, x:x + side] = g > opts.threshold
                n = int(own.sum())
                kept = (masks & ~own).sum((1, 2))
                if n >= MIN_PIXELS and (kept >= need).all():
                    break
            else:
                break  # no place for this garment: draw the scene again
            image[y:y + side, x:x + side][own[y:y + side, x:x + side]] = \
                g[own[y:y + side, x:x + side]]
            masks = np.concatenate([masks & ~own, own[None]])
            need = np.append(need, max(MIN_PIXELS,
                                       int(np.ceil(opts.min_visible * n))))
            picked.append(idx)
        else:
            picked = np.array(picked, np.int64)
            return image, masks, labels[picked], picked
    raise RuntimeError(
        f'no scene of {opts.min_objects}-{opts.max_objects} garments of '
        f'{opts.min_scale}-{opts.max_scale} px keeps each >= '
        f'{opts.min_visible:.0%} visible on a {S} px canvas after '
        f'{RESTARTS} tries: lower --max-objects, --max-scale or --min-visible')


def coco_annotation(mask, ann_id, image_id, cls):
    """COCO dict of one visible mask (bool (S, S)): bbox [x, y, w, h]."""
    ys, xs = np.nonzero(mask.any(1))[0], np.nonzero(mask.any(0))[0]
    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    rle['counts'] = rle['counts'].decode('ascii')
    return dict(id=ann_id, image_id=image_id, category_id=int(cls) + 1,
                bbox=[int(xs[0]), int(ys[0]), int(xs[-1] - xs[0] + 1),
                      int(ys[-1] - ys[0] + 1)],
                area=int(mask.sum()), iscrowd=0, segmentation=rle)


def make_split(split, n, fmnist, opts, root):
    """Write ``n`` scenes of ``split`` under ``root``; return the COCO dict."""
    src, pool = split_pool(split, fmnist)
    garments, labels = fmnist[src][0][pool], fmnist[src][1][pool]
    for sub in ('images', 'seg'):
        os.makedirs(osp.join(root, sub, split), exist_ok=True)
    images, anns = [], []
    for i in range(n):
        rng = np.random.default_rng([opts.seed, SPLITS.index(split), i])
        image, masks, classes, picked = make_scene(rng, garments, labels,
                                                   opts)
        name = f'{split}/{i:06d}.png'
        seg = (masks * (classes + 1)[:, None, None]).sum(0).astype(np.uint8)
        cv2.imwrite(osp.join(root, 'images', name), image)
        cv2.imwrite(osp.join(root, 'seg', name), seg)
        images.append(dict(id=i, file_name=name, width=opts.size,
                           height=opts.size))
        for mask, cls, j in zip(masks, classes, picked):
            ann = coco_annotation(mask, len(anns) + 1, i, cls)
            anns.append(dict(ann, fmnist_split=src, fmnist_index=int(pool[j])))
    return dict(images=images, annotations=anns, categories=[
        dict(id=c + 1, name=name) for c, name in enumerate(CLASSES)])


def main(argv=None):
    opts = parse_args(argv)
    start = time.time()
    out = osp.abspath(opts.out)
    fmnist = load_fmnist(opts.data_root)
    tmp = f'{out}.partial-{os.getpid()}'
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(osp.join(tmp, 'annotations'))
    counts = {}
    try:
        for split in SPLITS:
            n = getattr(opts, split)
            coco = make_split(split, n, fmnist, opts, tmp)
            with open(osp.join(tmp, 'annotations',
                               f'instances_{split}.json'), 'w') as f:
                json.dump(coco, f)
            counts[split] = dict(images=n, instances=len(coco['annotations']))
        meta = dict(options={k: v for k, v in sorted(vars(opts).items())
                             if k != 'out'}, counts=counts, classes=CLASSES,
                    seg_classes=('background', ) + CLASSES)
        with open(osp.join(tmp, 'meta.json'), 'w') as f:
            json.dump(meta, f, indent=1)
        if osp.exists(out):  # a finished scenes folder (parse_args checked)
            old = f'{out}.old-{os.getpid()}'
            os.rename(out, old)
            os.rename(tmp, out)
            shutil.rmtree(old)
        else:
            os.rename(tmp, out)
    except RuntimeError as e:
        shutil.rmtree(tmp, ignore_errors=True)
        raise SystemExit(f'error: {e}')
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    print(f'{sum(c["images"] for c in counts.values())} scenes, '
          + ' / '.join(f'{s} {c["images"]} ({c["instances"]} instances)'
                       for s, c in counts.items())
          + f' -> {out} in {time.time() - start:.1f} s')
    return counts


if __name__ == '__main__':
    main()
