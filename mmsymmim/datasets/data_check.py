"""Check the training images exist before a run builds its model.

mmengine's Runner builds the model in ``__init__`` and the train dataset only
when training starts, so a wrong ``data_root`` used to surface minutes later
as a traceback from deep inside mmpretrain. :func:`check_train_data` looks at
``cfg.train_dataloader.dataset`` first and stops with one line naming the
path and the fix. It knows:

* ``CustomDataset`` and its subclasses (a folder of images, or an
  annotation file listing them), with ``ImageNet``'s ``split`` layout;
* ``FashionMNISTIDX`` (the demo's Debian files);
* dataset wrappers (``dataset=`` / ``datasets=``): each inner dataset.

Other datasets and non-local storage (``backend_args``, ``s3://``) pass
unchecked. Cost: the first readable image ends the search, so a good folder
costs one directory listing and one decode.
"""
import os
import os.path as osp
from typing import Iterator, Optional

import mmcv

MAX_TRIES = 1000  # undecodable files looked at before giving up
OVERRIDE = '--cfg-options train_dataloader.dataset.data_root=/path/to/images'
IMAGENET_LAYOUT = ("mmpretrain's ImageNet layout: {root}/train/<class>/"
                   '<image>.JPEG and {root}/meta/train.txt (one '
                   "'<class>/<image>.JPEG <label>' per line)")


def _dataset_class(type_):
    if isinstance(type_, type):
        return type_
    from mmpretrain.registry import DATASETS
    try:
        return DATASETS.get(type_)
    except KeyError:
        return None


def _is_remote(ds: dict, *paths) -> bool:
    return bool(ds.get('backend_args')) or any('://' in str(p) for p in paths)


def _readable(path: str) -> bool:
    try:
        with open(path, 'rb') as f:
            return mmcv.imfrombytes(f.read()) is not None
    except Exception:  # noqa: BLE001 - any failure means unreadable
        return False


def _walk(folder: str, extensions, top_level: bool) -> Iterator[str]:
    """Image files under ``folder`` (recursive, lazy, sorted per folder);
    ``top_level=False`` skips files directly in it (class-folder layout)."""
    for root, dirs, files in os.walk(folder, followlinks=True):
        dirs.sort()
        if root == folder and not top_level:
            continue
        for name in sorted(files):
            if name.lower().endswith(extensions):
                yield osp.join(root, name)


def _first_readable(paths: Iterator[str], where: str,
                    fix: str) -> Optional[str]:
    """None if one of ``paths`` decodes, else the problem as one line."""
    tried = []
    for path in paths:
        if _readable(path):
            return None
        tried.append(path)
        if len(tried) >= MAX_TRIES:
            break
    if not tried:
        return f'No training images: {where} holds no image files. {fix}'
    many = 'the first' if len(tried) >= MAX_TRIES else 'all'
    return (f'No readable training images: {many} {len(tried)} image '
            f'file(s) in {where} fail to decode (e.g. {tried[0]}). Replace '
            f'them with valid images. {fix}')


def _custom_problem(ds: dict, cls) -> Optional[str]:
    from mmpretrain.datasets import ImageNet
    data_root = ds.get('data_root', '') or ''
    prefix = ds.get('data_prefix', '') or ''
    if isinstance(prefix, dict):
        prefix = prefix.get('img_path', '') or ''
    ann_file = ds.get('ann_file', '') or ''
    imagenet = issubclass(cls, ImageNet)
    split = ds.get('split', '') if imagenet else ''
    if split:
        prefix = prefix or split
        if not ann_file and osp.isfile(
                osp.join(data_root, 'meta', f'{split}.txt')):
            ann_file = osp.join('meta', f'{split}.txt')
    folder = osp.expanduser(prefix)
    if data_root and not osp.isabs(folder):
        folder = osp.join(data_root, folder)
    if ann_file and data_root and not osp.isabs(ann_file):
        ann_file = osp.join(data_root, ann_file)
    if not folder or _is_remote(ds, folder, ann_file):
        return None  # nothing to look at here: mmpretrain will complain
    folder = folder.rstrip('/') or '/'
    exts = tuple(e.lower() for e in ds.get(
        'extensions', getattr(cls, 'IMG_EXTENSIONS', None)
        or ('.jpg', '.jpeg', '.png', '.ppm', '.bmp', '.pgm', '.tif')))
    with_label = ds.get('with_label', True) and split != 'test'
    kinds = '/'.join(exts)

    if imagenet:
        how = (f'{cls.__name__} configs expect '
               f'{IMAGENET_LAYOUT.format(root=data_root.rstrip("/"))}; put '
               f'the data there (or a link), pass --cfg-options '
               f'train_dataloader.dataset.data_root=/path/to/imagenet, or '
               f'train on a plain folder with the *_folder.py config')
        if not osp.isdir(folder):
            return f'ImageNet not found: {folder} is not a folder. {how}'
        if not ann_file:
            n = sum(e.is_dir() for e in os.scandir(folder))
            classes = len(cls.METAINFO.get('classes', ()))
            if classes and n != classes:
                meta = osp.join(data_root, 'meta', f'{split}.txt')
                return (f'ImageNet incomplete: {meta} is missing and '
                        f'{folder} has {n} class folders, not {classes}. '
                        f'{how}')
    else:
        how = f'Put your images there or pass {OVERRIDE}'
        if not ann_file and not osp.isdir(folder):
            return (f'No training images: folder {folder} does not exist. '
                    f'{how}')

    if ann_file:
        if not osp.isfile(ann_file):
            return (f'No training images: annotation file {ann_file} does '
                    f'not exist. {how}')

        def listed():
            with open(ann_file) as f:
                for line in f:
                    line = line.strip()
                    if line:
                        name = line.rsplit(' ', 1)[0] if with_label else line
                        yield osp.join(folder, name)

        return _first_readable(listed(), f'{ann_file} (images in {folder})',
                               how)
    where = ('class sub-folders of ' if with_label else '') + folder
    return _first_readable(
        _walk(folder, exts, top_level=not with_label),
        f'{where} (searched recursively for {kinds})', how)


def find_data_problem(ds: Optional[dict]) -> Optional[str]:
    """The problem with a dataset config as one line, or None if it looks
    usable (or is of a kind this check does not know)."""
    if not isinstance(ds, dict):
        return None
    if isinstance(ds.get('datasets'), (list, tuple)):
        for inner in ds['datasets']:
            problem = find_data_problem(inner)
            if problem:
                return problem
        return None
    if isinstance(ds.get('dataset'), dict):
        return find_data_problem(ds['dataset'])
    from mmpretrain.datasets import CustomDataset
    from .fashion_mnist import DEFAULT_ROOT, FILES, FashionMNISTIDX
    cls = _dataset_class(ds.get('type'))
    if cls is None:
        return None
    if issubclass(cls, CustomDataset):
        return _custom_problem(ds, cls)
    if issubclass(cls, FashionMNISTIDX):
        root = ds.get('data_root', DEFAULT_ROOT)
        for name in FILES.get(ds.get('split', 'train'), ()):
            if not osp.isfile(osp.join(root, name)):
                return (f'No training images: {osp.join(root, name)} does '
                        f'not exist. Install Debian\'s dataset-fashion-mnist '
                        f'(tools/setup.sh does) or pass {OVERRIDE}')
    return None


def check_train_data(cfg) -> None:
    """Exit with one line (no traceback) if ``cfg.train_dataloader``'s
    images are missing, absent from their folder or all unreadable.

    Call it before building the Runner (which builds the model)."""
    loader = cfg.get('train_dataloader') or {}
    problem = find_data_problem(loader.get('dataset'))
    if problem:
        raise SystemExit(problem)
