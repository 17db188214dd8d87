"""A tiny run learns: 30 iterations of ``tools/train.py`` (the harness's tiny
run, at the config's peak lr after its one warm-up iteration) lower every
loss term of each algorithm on a fixed batch (same images, views, masks and
draws before and after), so "trains" in the other tests means "learns"."""
import copy
import re

import pytest
import torch
import torch.nn.functional as F
from mmengine.logging import MessageHub

from ...harness import (
    MASK_TOKEN_DEMO,
    MIXMASK_DEMO,
    SYMMIM_DEMO,
    build_model,
    real_batch,
    run_train,
    tiny_cfg,
)

# 30 iterations of each demo: 2-5 min each on a loaded 2-core CPU
pytestmark = pytest.mark.slow

ITERS = 30
FIXED = 64  # images of the fixed batch (the first 64; MixMask's queue size)
# a new batch of images each iteration: a data set of one batch would end an
# epoch every iteration, and mmengine's iteration loop sleeps 2 s at each
OPTIONS = ['custom_hooks=[]', f'train_dataloader.dataset.indices={16 * ITERS}']
# MixMask's ResNet at a quarter of the demo's FLOPs, its SplitBatchNorm in 2
# groups of 8 images (8 groups of the harness's batch of 16 would normalise
# over 2 images each); the queue as the harness sets it
MIXMASK_TINY = {'model.queue_len': 64, 'model.backbone.base_channels': 8,
                'model.backbone.stem_channels': 8,
                'model.neck.in_channels': 64,
                'model.backbone.norm_cfg.num_splits': 2}


def fixed_loss(model, batch) -> dict:
    """The model's loss terms on ``batch`` with the draws seeded, on a copy
    (``loss()`` moves the EMA encoder and the queue). MoCo's negatives are
    the batch's own keys (the queue filled with them), the same for both
    models: a random encoder maps every image alike and scores well against
    the random vectors an initial queue holds."""
    model = copy.deepcopy(model)
    MessageHub.get_current_instance().update_info('max_iters', ITERS)
    torch.manual_seed(0)
    with torch.no_grad():
        data = model.data_preprocessor(batch, True)
        if hasattr(model, 'queue'):
            keys = F.normalize(model.encoder_k(data['inputs'][1])[0], dim=1)
            model.queue.copy_(keys.t())
            model.queue_ptr.zero_()
        losses = model.loss(data['inputs'], data['data_samples'])
    return {k: float(v) for k, v in losses.items() if k.startswith('loss')}


@pytest.mark.parametrize('config, fields', [
    (SYMMIM_DEMO, {}), (MASK_TOKEN_DEMO, {}), (MIXMASK_DEMO, MIXMASK_TINY)
], ids=['symmim_visible', 'symmim_mask_token', 'mixmask'])
def test_tiny_run_lowers_the_loss_on_a_fixed_batch(fmnist_root, tmp_path,
                                                   config, fields):
    cfg = tiny_cfg(config)  # the model of the tiny run
    cfg.merge_from_dict(fields)
    init = build_model(cfg)
    torch.save(dict(state_dict=init.state_dict(), meta={}),
               tmp_path / 'init.pth')
    proc = run_train(tmp_path / 'work', ITERS, config=config, options=[
        *OPTIONS, *[f'{k}={v}' for k, v in fields.items()],
        f"load_from={tmp_path / 'init.pth'}"])
    peak = cfg.optim_wrapper.optimizer.lr
    assert re.search(rf'Iter\(train\) \[ 2/{ITERS}\].* lr: {peak:.4e} ',
                     proc.out), proc.out[-3000:]  # the peak lr, warmed up
    trained = build_model(cfg)
    trained.load_state_dict(torch.load(
        tmp_path / 'work' / f'iter_{ITERS}.pth',
        weights_only=False)['state_dict'])

    torch.manual_seed(0)
    batch = real_batch(cfg, FIXED)
    before, after = fixed_loss(init, batch), fixed_loss(trained, batch)
    assert all(after[k] < before[k] for k in before), (before, after)
    assert sum(after.values()) < 0.95 * sum(before.values()), (before, after)
