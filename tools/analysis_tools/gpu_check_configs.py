"""Step b of tools/analysis_tools/gpu_check.py: every pretraining config
under configs/ trains 2 iterations on the machine's device, with its own
model, pipeline and optimiser wrapper (AMP where the config has it and a GPU
is there), through tests/config_sweep.py's ``sweep_run`` (the one list of
what a sweep run changes) plus: synthetic images in each data layout (the
GPU machine has no Fashion-MNIST), no checkpoint, and in ``--tiny`` mode
tiny backbones and one config per feature (``cover``).
"""
import argparse
import gc
import gzip
import math
import os
import os.path as osp
import struct
import tempfile
import time

import numpy as np
import torch

TINY_VIT = dict(embed_dims=64, num_layers=2, num_heads=2,
                feedforward_channels=128)
WIDTH_KEYS = ('in_channels', 'hid_channels', 'out_channels', 'embed_dim')


def write_fmnist(root, n=64):
    """Fashion-MNIST's four gzipped IDX files, ``n`` smooth random images
    each (the machine has no Debian data set)."""
    import cv2

    from mmsymmim.datasets.fashion_mnist import FILES
    os.makedirs(root, exist_ok=True)
    rng = np.random.default_rng(0)
    for split in ('train', 'test'):
        imgs = np.stack([cv2.resize(rng.integers(0, 256, (7, 7), np.uint8),
                                    (28, 28)) for _ in range(n)])
        with gzip.open(osp.join(root, FILES[split][0]), 'wb') as f:
            f.write(struct.pack('>IIII', 2051, n, 28, 28) + imgs.tobytes())
        with gzip.open(osp.join(root, FILES[split][1]), 'wb') as f:
            f.write(struct.pack('>II', 2049, n) +
                    (np.arange(n) % 10).astype(np.uint8).tobytes())
    return root


def set_fmnist_root(node, root):
    if isinstance(node, dict):
        if node.get('type') == 'FashionMNISTIDX':
            node['data_root'] = root
        node = list(node.values())
    if isinstance(node, (list, tuple)):
        for v in node:
            set_fmnist_root(v, root)


def shrink(model):
    """Tiny mode: ViT-S/B/L -> width 64, 2 layers; ResNet-50 -> 18; every
    neck / head width that followed the backbone's follows it."""
    from mmpretrain.registry import MODELS
    bb, subs = model.backbone, {4096: 256}
    if isinstance(bb.get('arch'), str):
        subs[MODELS.get(bb.type).arch_zoo[bb.arch]['embed_dims']] = 64
        bb.arch = dict(TINY_VIT)
    elif bb.type == 'ResNet' and bb.depth >= 50:
        bb.depth, subs[2048] = 18, 512

    def walk(node):
        if isinstance(node, dict):
            for k, v in node.items():
                if k in WIDTH_KEYS and v in subs:
                    node[k] = subs[v]
                else:
                    walk(v)
    walk({k: v for k, v in model.items() if k != 'backbone'})


def train_two(path, data, fmnist, work, tiny):
    """tests/config_sweep.py's run of ``path`` (its own model, pipeline,
    optimiser wrapper: AMP where the config has it and a GPU is there),
    in this process, no checkpoint; the logged losses of its 2 iterations."""
    from mmengine.config import Config, DictAction
    from mmengine.runner import Runner

    from tests import config_sweep as sweep
    from tests import sweep_checks
    config, opts = sweep.sweep_run(path, data, work)
    cfg = Config.fromfile(config)
    p = argparse.ArgumentParser()
    p.add_argument('--o', nargs='+', action=DictAction)
    cfg.merge_from_dict(p.parse_args(['--o', *opts]).o)
    cfg.work_dir = work
    set_fmnist_root([cfg[k] for k in cfg.keys()], fmnist)
    cfg.default_hooks.checkpoint = None
    if tiny:
        shrink(cfg.model)
    runner = Runner.from_cfg(cfg)
    runner.train()
    wrapper = runner.optim_wrapper
    terms = sweep.LOSS_TERMS[cfg.model.type]
    logged = [r for r in sweep_checks.logged_scalars(work) if 'loss' in r]
    losses = {t: [r.get(t) for r in logged] for t in terms}
    finite = len(logged) == sweep.ITERS and all(
        v is not None and math.isfinite(v) for vs in losses.values()
        for v in vs)
    kind = type(wrapper).__name__
    if hasattr(wrapper, 'cast_dtype'):  # AMP: None is autocast's float16
        kind += f' ({wrapper.cast_dtype or "float16"})'
    return dict(wrapper=kind,
                losses='; '.join(f'{t} ' + ' / '.join(
                    f'{v:.4f}' if v is not None else '-' for v in vs)
                    for t, vs in losses.items()),
                finite=finite)


def pretraining_configs():
    """The pretraining configs, as tests/test_config_sweep.py picks them
    (not a base, an alias, a benchmark or trained elsewhere), ViT-L last."""
    from tests import config_sweep as sweep
    paths = [p for p in sweep.CONFIG_FILES if '/_base_/' not in p and
             '/benchmarks/' not in p and not sweep.alias_target(p) and
             sweep.rel(p) not in sweep.NOT_TRAINED_HERE]
    return sorted(paths, key=lambda p: ('vit-large' in p, 'mixmask' in p, p))


def features(path) -> set:
    """What a config exercises: model (and SymMIM's encoder input), data
    layout, data preprocessor, optimiser wrapper, loop."""
    from tests import config_sweep as sweep
    c = sweep.load(path)
    return {('model', c.model.type, c.model.get('encoder_input')),
            ('layout', sweep.layout(c.train_dataloader.dataset)),
            ('preprocessor', (c.get('data_preprocessor') or {}).get('type')),
            ('wrapper', c.optim_wrapper.get('type')),
            ('loop', c.train_cfg.get('type'))}


def cover(paths) -> list:
    """Few configs that together have every feature of ``paths`` (greedy;
    earlier paths win ties)."""
    feats = {p: features(p) for p in paths}
    left, chosen = set().union(*feats.values()), []
    while left:
        best = max(paths, key=lambda p: (len(feats[p] & left),
                                         -paths.index(p)))
        chosen.append(best)
        left -= feats[best]
    return [p for p in paths if p in chosen]


def step_b(part, device, tiny, opts):
    import mmengine.config.config as mm_config

    import mmsymmim  # noqa: F401
    # the Runner dumps and logs its config formatted by yapf: 0.2-1 s a run
    mm_config.FormatCode = lambda text, **kw: (text, False)
    from tests import config_sweep as sweep
    from tests import sweep_data
    tmp = tempfile.mkdtemp(prefix='gpu_check_b_')
    fmnist = write_fmnist(osp.join(tmp, 'fmnist'))
    data = sweep_data.make_data(osp.join(tmp, 'data'), fmnist)
    paths = pretraining_configs()
    if tiny and not opts.all_configs:
        paths = cover(paths)
    part.note('configs', f'{len(paths)} pretraining configs (aliases not '
              f'again), batch {sweep.BATCH} (8 with SplitBatchNorm), '
              f'{sweep.ITERS} iterations, synthetic images; tiny={tiny}')
    for i, path in enumerate(paths):
        t0 = time.perf_counter()
        row = dict(config=sweep.rel(path))
        try:
            row.update(train_two(path, data, fmnist, osp.join(tmp, str(i)),
                                 tiny))
        except Exception as e:  # noqa: BLE001  the rest still run
            row.update(finite=False, error=f'{type(e).__name__}: {e}'[:300])
        row['seconds'] = time.perf_counter() - t0
        part.add(row)
        gc.collect()
        if device.type == 'cuda':
            torch.cuda.empty_cache()
