"""tools/train.py on the demo configs, as a user runs it."""
import json

import torch

from ..harness import MIXMASK_DEMO, run_train


def test_symmim_demo_two_iterations(fmnist_root, tmp_path):
    out = run_train(tmp_path, 2).out
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
    out = run_train(tmp_path, 2, config=MIXMASK_DEMO).out
    assert 'loss_moco' in out and 'loss_mix' in out
    knn = json.loads((tmp_path / 'knn.json').read_text())
    assert set(knn['top1']) == {'random init', 'after 2 iters'}
    state = torch.load(tmp_path / 'iter_2.pth', weights_only=True)
    assert 'queue' in state['state_dict']


def test_resume(fmnist_root, tmp_path):
    run_train(tmp_path, 2)
    out = run_train(tmp_path, 4, '--resume').out
    assert 'resumed' in out.lower()
    state = torch.load(tmp_path / 'iter_4.pth', weights_only=True)
    assert state['meta']['iter'] == 4
    knn = json.loads((tmp_path / 'knn.json').read_text())
    assert 'resumed at iter 2' in knn['top1']
