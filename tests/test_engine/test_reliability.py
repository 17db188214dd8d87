"""Resume, checkpoints, NaN guard, bad files and bad configs."""
import json
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.fileio.backends.local_backend import LocalBackend

from mmpretrain.registry import DATASETS, MODELS
from ..harness import REPO

TRAIN = osp.join(REPO, 'tools/train.py')
DEMO = osp.join(REPO, 'configs/symmim/symmim_vit-tiny-p4_1xb128-200i_fmnist.py')
TINY = [
    'model.backbone.arch.num_layers=2', 'train_dataloader.batch_size=16',
    'train_dataloader.num_workers=0',
    'train_dataloader.persistent_workers=False', 'custom_hooks=[]',
    'default_hooks.logger.interval=1', 'param_scheduler.0.end=1',
    'param_scheduler.1.begin=1'
]


def train(work_dir, iters, *extra, options=(), check=True):
    cmd = [
        sys.executable, TRAIN, DEMO, '--work-dir',
        str(work_dir), *extra, '--cfg-options', *TINY,
        f'train_cfg.max_iters={iters}', f'param_scheduler.1.end={iters}',
        f'param_scheduler.1.T_max={iters - 1}', *options
    ]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True,
                          timeout=600)
    if check:
        assert proc.returncode == 0, proc.stderr[-4000:]
    return proc


def losses(work_dir):
    path = next(p for p in (work_dir).rglob('scalars.json'))
    return {d['iter']: d for d in map(json.loads, open(path)) if 'loss' in d}


def test_resume_is_exact(fmnist_root, tmp_path):
    """4 iterations in one go == 2, crash, resume from iter_2, 2 more."""
    one, two = tmp_path / 'one', tmp_path / 'two'
    ckpt_every = ['default_hooks.checkpoint.interval=2',
                  'default_hooks.checkpoint.max_keep_ckpts=-1']
    train(one, 4, options=ckpt_every)
    # the crash: all that survives of a run is its iter_2 checkpoint
    proc = train(two, 4, '--resume', str(one / 'iter_2.pth'),
                 options=ckpt_every)
    assert 'resumed' in (proc.stdout + proc.stderr).lower()
    assert not (two / 'iter_2.pth').exists()
    a = torch.load(one / 'iter_4.pth', weights_only=True)
    b = torch.load(two / 'iter_4.pth', weights_only=True)
    assert a['state_dict'].keys() == b['state_dict'].keys()
    for k in a['state_dict']:  # online, EMA (momentum_encoder.*), buffers
        assert torch.equal(a['state_dict'][k], b['state_dict'][k]), k
    sa, sb = a['optimizer']['state'], b['optimizer']['state']
    for i in sa:
        for name in ('exp_avg', 'exp_avg_sq', 'step'):
            assert torch.equal(sa[i][name], sb[i][name]), (i, name)
    la, lb = losses(one), losses(two)
    for it in (3, 4):
        for term in ('loss_mim', 'loss_con'):
            assert la[it][term] == lb[it][term], (it, term)


def test_atomic_checkpoint_write(tmp_path, monkeypatch):
    path = tmp_path / 'iter_2.pth'
    torch.save({'w': torch.ones(3)}, path)
    backend = LocalBackend()

    def killed(fd):
        raise KeyboardInterrupt('killed while saving')

    monkeypatch.setattr(os, 'fsync', killed)
    with pytest.raises(KeyboardInterrupt):
        backend.put(b'half a checkpoint', path)
    with pytest.raises(KeyboardInterrupt):  # text files (knn.json) too
        backend.put_text('half a json', path)
    # the previous checkpoint is intact and no temp file is left behind
    assert torch.equal(torch.load(path, weights_only=True)['w'], torch.ones(3))
    assert os.listdir(tmp_path) == ['iter_2.pth']
    monkeypatch.undo()
    backend.put(b'new', path)
    assert path.read_bytes() == b'new'
    assert oct(path.stat().st_mode & 0o777) != '0o600'


def test_nan_loss_stops_with_iteration_and_term(fmnist_root, tmp_path):
    proc = train(tmp_path, 3, options=['model.mim_loss_weight=nan'],
                 check=False)
    assert proc.returncode != 0
    assert 'iteration 1: non-finite loss term(s) loss_mim=nan' in proc.stderr
    assert not (tmp_path / 'iter_3.pth').exists()


def test_nan_loss_skip_and_warn(fmnist_root, tmp_path):
    proc = train(tmp_path, 2, options=[
        'model.mim_loss_weight=nan', 'default_hooks.loss_guard.action=skip',
        'default_hooks.checkpoint.interval=2'
    ])
    out = proc.stdout + proc.stderr
    assert out.count('optimizer step skipped') == 2
    state = torch.load(tmp_path / 'iter_2.pth', weights_only=True)
    step = [s['step'] for s in state['optimizer']['state'].values()]
    assert not step  # AdamW never stepped


def test_pretrained_of_another_architecture_fails(fmnist_root, tmp_path):
    from mmengine.runner.checkpoint import load_checkpoint
    small = MODELS.build(dict(type='SymMIMViT', arch=dict(
        embed_dims=32, num_layers=2, num_heads=2, feedforward_channels=64),
        img_size=32, patch_size=4))
    big = MODELS.build(dict(type='SymMIMViT', arch=dict(
        embed_dims=64, num_layers=2, num_heads=2, feedforward_channels=128),
        img_size=32, patch_size=4))
    torch.save({'state_dict': small.state_dict()}, tmp_path / 'small.pth')
    with pytest.raises(RuntimeError, match='no tensor matches.*pos_embed'):
        load_checkpoint(big, str(tmp_path / 'small.pth'))
    # a partial fit (same architecture, one tensor extra) still loads
    state = dict(big.state_dict(), extra=torch.zeros(1))
    torch.save({'state_dict': state}, tmp_path / 'big.pth')
    load_checkpoint(big, str(tmp_path / 'big.pth'))


def test_pretrained_files_load_weights_only(tmp_path):
    """A user file holding arbitrary pickled objects is refused."""
    from mmengine.runner.checkpoint import load_checkpoint
    model = torch.nn.Linear(2, 2)
    torch.save({'state_dict': model.state_dict(), 'x': np.arange(3)},
               tmp_path / 'evil.pth', _use_new_zipfile_serialization=True)
    with pytest.raises(Exception, match='[Ww]eights only'):
        load_checkpoint(model, str(tmp_path / 'evil.pth'))


def make_folder(tmp_path):
    import cv2
    folder = tmp_path / 'imgs' / 'a'
    folder.mkdir(parents=True)
    for i in range(3):
        cv2.imwrite(str(folder / f'{i}.png'),
                    np.full((8, 8, 3), 40 * i, np.uint8))
    (folder / '1.png').write_bytes(b'\x89PNG\r\n\x1a\n not really a png')
    return tmp_path / 'imgs'


@pytest.mark.parametrize('on_error', ['raise', 'skip'])
def test_corrupt_image_reported_with_path(tmp_path, on_error):
    root = make_folder(tmp_path)
    ds = DATASETS.build(dict(
        type='CustomDataset', data_root=str(root), with_label=False,
        pipeline=[dict(type='SafeLoadImageFromFile', on_error=on_error),
                  dict(type='PackInputs')]))
    bad = next(i for i in range(len(ds))
               if ds.get_data_info(i)['img_path'].endswith('1.png'))
    if on_error == 'raise':
        with pytest.raises(OSError, match='cannot read image .*a/1.png'):
            ds[bad]
    else:
        import logging

        from mmengine.logging import MMLogger
        records = []
        handler = logging.Handler()
        handler.emit = records.append
        logger = MMLogger.get_current_instance()
        logger.addHandler(handler)
        try:
            out = ds[bad]  # another sample comes back instead
        finally:
            logger.removeHandler(handler)
        assert out['inputs'].shape == (3, 8, 8)
        text = '\n'.join(r.getMessage() for r in records)
        assert 'skipping unreadable image' in text and 'a/1.png' in text


@pytest.mark.parametrize('options,match', [
    (["train_dataloader.dataset.pipeline.1.type=CheckerMask"],
     'CheckerMask.*not in'),
    (["train_dataloader.dataset.pipeline.1.input_size=30"],
     'input_size.*30.*not divisible'),
    (["train_dataloader.dataset.pipeline.1.scale=9"], 'scale.*too large'),
    (["train_dataloader.dataset.data_root=/nonexistent"],
     'apt-get install dataset-fashion-mnist'),
])
def test_bad_config_fails_before_training(fmnist_root, tmp_path, options,
                                          match):
    import re
    proc = train(tmp_path, 2, options=options, check=False)
    assert proc.returncode != 0
    assert re.search(match, proc.stderr), proc.stderr[-2000:]
    assert 'Iter(train)' not in proc.stdout + proc.stderr
