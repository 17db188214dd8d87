"""tools/train.py on the demo config, as a user runs it."""
import json
import os.path as osp
import subprocess
import sys

import torch

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEMO = osp.join(REPO, 'configs/demo/symmim_vit-tiny_fmnist.py')
MIXMASK_DEMO = osp.join(REPO, 'configs/demo/mixmask_mocov2_resnet-tiny_fmnist.py')
SMALL = [
    'train_dataloader.batch_size=16',
    'default_hooks.logger.interval=1',
    'train_dataloader.num_workers=0',
    'train_dataloader.persistent_workers=False',
    'custom_hooks.0.bank_dataloader.dataset.indices=300',
    'custom_hooks.0.test_dataloader.dataset.indices=100',
]


def train(work_dir, iters, *extra, config=DEMO):
    small = (['model.backbone.arch.num_layers=2'] if config == DEMO else
             ['model.queue_len=64'])
    cmd = [
        sys.executable,
        osp.join(REPO, 'tools/train.py'), config, '--work-dir',
        str(work_dir), *extra, '--cfg-options', *SMALL, *small,
        f'train_cfg.max_iters={iters}',
        f'default_hooks.checkpoint.interval={iters}',
        f'param_scheduler.1.end={iters}', f'param_scheduler.1.T_max={iters}',
        'param_scheduler.0.end=1', 'param_scheduler.1.begin=1'
    ]
    proc = subprocess.run(
        cmd, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr


def test_demo_two_iterations(fmnist_root, tmp_path):
    out = train(tmp_path, 2)
    assert 'loss_mim' in out and 'loss_con' in out
    ckpt = tmp_path / 'iter_2.pth'
    assert ckpt.is_file()
    knn = json.loads((tmp_path / 'knn.json').read_text())
    assert set(knn['top1']) == {'random init', 'after 2 iters'}
    assert all(0 <= v <= 100 for v in knn['top1'].values())
    # checkpoints load with torch's safe loader (weights_only=True)
    state = torch.load(ckpt, map_location='cpu', weights_only=True)
    assert state['meta']['iter'] == 2
    assert any(k.startswith('momentum_encoder.') for k in state['state_dict'])
    assert 'backbone.mask_token' in state['state_dict']


def test_mixmask_demo_two_iterations(fmnist_root, tmp_path):
    out = train(tmp_path, 2, config=MIXMASK_DEMO)
    assert 'loss_moco' in out and 'loss_mix' in out
    knn = json.loads((tmp_path / 'knn.json').read_text())
    assert set(knn['top1']) == {'random init', 'after 2 iters'}
    state = torch.load(tmp_path / 'iter_2.pth', weights_only=True)
    assert 'queue' in state['state_dict']


def test_resume(fmnist_root, tmp_path):
    train(tmp_path, 2)
    out = train(tmp_path, 4, '--resume')
    assert 'resumed' in out.lower()
    state = torch.load(tmp_path / 'iter_4.pth', weights_only=True)
    assert state['meta']['iter'] == 4
    knn = json.loads((tmp_path / 'knn.json').read_text())
    assert 'resumed at iter 2' in knn['top1']
