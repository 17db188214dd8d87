"""Exact resume on several processes: 2 CPU processes (gloo) of the MixMask
demo, each rank with its own random streams (``diff_rank_seed``) and
on-device draws (masks, partners), stopped after a checkpoint and resumed,
end with the uninterrupted run's weights, queue and optimiser state, bit for
bit (RNGStateHook, in every pretraining config). The same checkpoint on one
process is refused with one line."""
import pytest
import torch

from ..harness import MIXMASK_DEMO, run_dist_train, run_train

OPTIONS = [
    'randomness.diff_rank_seed=True',  # each rank its own streams
    'default_hooks.checkpoint.interval=2',
    'default_hooks.checkpoint.max_keep_ckpts=-1',
    'custom_hooks.0.eval_before=False',  # the k-NN report: small, once
    'custom_hooks.0.bank_dataloader.dataset.indices=40',
    'custom_hooks.0.test_dataloader.dataset.indices=20',
    # a quarter of the demo ResNet's FLOPs; BatchNorm groups of 4 images
    'model.backbone.base_channels=8', 'model.backbone.stem_channels=8',
    'model.neck.in_channels=64', 'model.backbone.norm_cfg.num_splits=2',
]


@pytest.mark.slow
def test_two_process_resume_is_exact(fmnist_root, tmp_path):
    one, two = tmp_path / 'one', tmp_path / 'two'
    run_dist_train(one, 2, 4, config=MIXMASK_DEMO, options=OPTIONS)
    # the crash: all that survives of the run is its iter_2 checkpoint
    out = run_dist_train(two, 2, 4, '--resume', str(one / 'iter_2.pth'),
                         config=MIXMASK_DEMO, options=OPTIONS).out
    assert 'resumed' in out.lower()
    a = torch.load(one / 'iter_4.pth', weights_only=True)
    b = torch.load(two / 'iter_4.pth', weights_only=True)
    ranks = a['rng_state']['ranks']
    assert len(ranks) == 2 and not torch.equal(ranks[0]['torch'],
                                               ranks[1]['torch'])
    assert a['state_dict'].keys() == b['state_dict'].keys()
    for k in a['state_dict']:  # online, key encoder, queue, BN statistics
        assert torch.equal(a['state_dict'][k], b['state_dict'][k]), k
    sa, sb = a['optimizer']['state'], b['optimizer']['state']
    assert sa.keys() == sb.keys()
    for i in sa:
        assert torch.equal(sa[i]['momentum_buffer'],
                           sb[i]['momentum_buffer']), i

    proc = run_train(tmp_path / 'single', 4, '--resume',
                     str(one / 'iter_2.pth'), config=MIXMASK_DEMO,
                     options=OPTIONS, check=False)
    assert proc.returncode != 0
    last = proc.out.strip().splitlines()[-1]
    assert last.startswith('RNGStateHook: the checkpoint holds the random '
                           'streams of 2 process(es), this run has 1'), last
