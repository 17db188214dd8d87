"""study/rows.py: the rows share model, data and optimiser and each
changes what it names; the SymMIM rows pin ``symmetric``."""

import pytest
from mmengine.config import Config

from study import rows as sr

VIT_ROWS = [r for r, s in sr.ROWS.items() if s.family == 'vit']


def test_rows_share_model_data_and_optimiser():
    """ViT rows: same ViT, batch, augmentation and optimiser; ResNet rows:
    same ResNet and optimiser; each row and knob changes what it names."""
    cfgs = {r: sr.row_config(r) for r in sr.ROWS if sr.ROWS[r].base}
    vit = [cfgs[r] for r in VIT_ROWS]
    for cfg in vit:
        assert cfg.model.backbone.arch == dict(embed_dims=128, num_layers=4,
                                               num_heads=4,
                                               feedforward_channels=512)
        assert cfg.train_dataloader.batch_size == 128
        assert cfg.optim_wrapper == vit[0].optim_wrapper
        pipe = cfg.train_dataloader.dataset.pipeline
        views = pipe[0].transforms[0] if pipe[0].type == 'MultiView' else \
            pipe[:-1]
        assert views == vit[0].view_pipeline
        assert cfg.custom_hooks == []
    assert cfgs['symmim-asymmetric'].model.symmetric is False
    rnd = cfgs['symmim-random-0.5']
    assert rnd.model.encoder_input == 'visible'
    sim = [t for t in rnd.train_dataloader.dataset.pipeline
           if t.type == 'SimMIMMaskGenerator'][0]
    assert (sim.mask_patch_size, sim.mask_ratio) == (4, 0.5)
    mae_neck = cfgs['mae'].model.neck
    for key in ('decoder_depth', 'decoder_embed_dim', 'decoder_num_heads'):
        assert mae_neck[key] == cfgs['symmim-visible'].model.mim_neck[key]
    moco, mixmask = cfgs['mocov2'], cfgs['mixmask-mocov2']
    assert moco.model.backbone == mixmask.model.backbone
    assert moco.optim_wrapper == mixmask.optim_wrapper
    # the ResNet rows start from the pinned recipe (KNOBS), whatever the
    # MixMask demo config now holds
    for r in (moco, mixmask):
        assert r.optim_wrapper.optimizer.lr == pytest.approx(0.06)
        assert (r.model.queue_len, r.model.momentum, r.model.head.temperature,
                r.model.backbone.norm_cfg) == (4096, 0.01, 0.2,
                                               dict(type='BN'))
    c = sr.row_config('symmim-visible', dict(lr=2., w_con=0.5,
                                             norm_target=True))
    assert c.optim_wrapper.optimizer.lr == pytest.approx(3e-3)
    assert (c.model.con_loss_weight, c.model.norm_target) == (0.5, True)
    r = sr.row_config('mocov2', dict(queue_len=1024, crop_min=0.6,
                                     temperature=0.5, bn_splits=8))
    assert (r.model.queue_len, r.model.head.temperature) == (1024, 0.5)
    assert r.model.backbone.norm_cfg == dict(type='SplitBatchNorm',
                                             num_splits=8)
    crop = r.train_dataloader.dataset.pipeline[0].transforms[0][0]
    assert crop.crop_ratio_range == (0.6, 1.)
    with pytest.raises(KeyError, match='w_con'):
        sr.row_config('mae', dict(w_con=2.))


@pytest.mark.parametrize('row,symmetric', [
    ('symmim-visible', True), ('symmim-random-0.5', True),
    ('symmim-mask-token', True), ('symmim-asymmetric', False)])
def test_symmim_rows_pin_symmetric_whatever_the_demo_says(row, symmetric):
    """The demo took symmetric=False from the study; the study's rows keep
    what they were when it ran, and its asymmetric row is the demo."""
    demo = Config.fromfile(sr.SYMMIM_DEMO)
    assert demo.model.symmetric is False
    assert demo.train_cfg.max_iters == 400
    assert sr.row_config(row).model.symmetric is symmetric
    if row == 'symmim-asymmetric':
        assert sr.row_config(row).model == demo.model
