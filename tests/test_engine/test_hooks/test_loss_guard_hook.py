"""LossGuardHook: a NaN loss stops the run naming the iteration and term,
or skips the step."""
import torch

from ...harness import run_train

NO_KNN = ['custom_hooks=[]']
# a NaN from the data: inputs divided by a zero std (a loss weight of nan is
# refused when SymMIM is built)
NAN = ['model.data_preprocessor.std=[0,0,0]']


def test_nan_loss_stops_with_iteration_and_term(fmnist_root, tmp_path):
    proc = run_train(tmp_path, 3, check=False,
                     options=[*NO_KNN, *NAN])
    assert proc.returncode != 0
    assert 'iteration 1: non-finite loss term(s) loss_mim=nan' in proc.stderr
    assert not (tmp_path / 'iter_3.pth').exists()


def test_nan_loss_skip_and_warn(fmnist_root, tmp_path):
    proc = run_train(tmp_path, 2, options=[
        *NO_KNN, *NAN,
        'default_hooks.loss_guard.action=skip'])
    assert proc.out.count('optimizer step skipped') == 2
    state = torch.load(tmp_path / 'iter_2.pth', weights_only=True)
    step = [s['step'] for s in state['optimizer']['state'].values()]
    assert not step  # AdamW never stepped
