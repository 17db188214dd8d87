"""tools/train.py on the demo configs, as a user runs it."""
import json
import re

import pytest
import torch

from ..harness import MASK_TOKEN_DEMO, MIXMASK_DEMO, run_train

NO_KNN = ['custom_hooks=[]']


def test_symmim_demo_two_iterations(tiny_symmim_run):
    """Both demo configs (the session's pretraining runs: the demo with its
    hooks, a smaller model and schedule)."""
    config, work, out = tiny_symmim_run
    assert 'loss_mim' in out and 'loss_con' in out
    ckpt = work / 'iter_2.pth'
    assert ckpt.is_file()
    knn = json.loads((work / 'knn.json').read_text())
    assert set(knn['top1']) == {'random init', 'after 2 iters'}
    assert all(0 <= v <= 100 for v in knn['top1'].values())
    # checkpoints load with torch's safe loader (weights_only=True)
    state = torch.load(ckpt, map_location='cpu', weights_only=True)
    assert state['meta']['iter'] == 2
    assert any(k.startswith('momentum_encoder.') for k in state['state_dict'])
    assert ('backbone.mask_token' in state['state_dict']) == (
        config == MASK_TOKEN_DEMO)


def test_mixmask_demo_two_iterations(fmnist_root, tmp_path):
    out = run_train(tmp_path, 2, config=MIXMASK_DEMO).out
    assert 'loss_moco' in out and 'loss_mix' in out
    knn = json.loads((tmp_path / 'knn.json').read_text())
    assert set(knn['top1']) == {'random init', 'after 2 iters'}
    state = torch.load(tmp_path / 'iter_2.pth', weights_only=True)
    assert 'queue' in state['state_dict']


def test_resume_continues_the_knn_report(fmnist_root, tmp_path):
    run_train(tmp_path, 2)
    out = run_train(tmp_path, 4, '--resume').out
    assert 'resumed' in out.lower()
    state = torch.load(tmp_path / 'iter_4.pth', weights_only=True)
    assert state['meta']['iter'] == 4
    knn = json.loads((tmp_path / 'knn.json').read_text())
    assert 'resumed at iter 2' in knn['top1']


def losses(work_dir):
    path = next(p for p in work_dir.rglob('scalars.json'))
    return {d['iter']: d for d in map(json.loads, open(path)) if 'loss' in d}


@pytest.mark.slow
def test_resume_is_exact(fmnist_root, tmp_path):
    """4 iterations in one go == 2, crash, resume from iter_2 in a new
    process (nothing carried over in memory), 2 more."""
    one, two = tmp_path / 'one', tmp_path / 'two'
    every_2 = [*NO_KNN, 'default_hooks.checkpoint.interval=2',
               'default_hooks.checkpoint.max_keep_ckpts=-1']
    run_train(one, 4, options=every_2)
    # the crash: all that survives of a run is its iter_2 checkpoint
    out = run_train(two, 4, '--resume', str(one / 'iter_2.pth'),
                    options=every_2, in_process=False).out
    assert 'resumed' in out.lower()
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


@pytest.mark.parametrize('options,match', [
    (['train_dataloader.dataset.pipeline.1.type=CheckerMask'],
     'CheckerMask.*not in'),
    (['train_dataloader.dataset.pipeline.1.input_size=30'],
     'input_size.*30.*not divisible'),
    (['train_dataloader.dataset.pipeline.1.scale=9'], 'scale.*too large'),
    (['train_dataloader.dataset.data_root=/nonexistent'],
     'nonexistent.*does not exist.*dataset-fashion-mnist'),
    (["model.encoder_input='pixels'"], 'encoder_input.*mask_token.*visible'),
])
def test_bad_config_fails_before_training(fmnist_root, tmp_path, options,
                                          match):
    proc = run_train(tmp_path, 2, options=[*NO_KNN, *options], check=False)
    assert proc.returncode != 0
    assert re.search(match, proc.stderr), proc.stderr[-2000:]
    assert 'Iter(train)' not in proc.out
