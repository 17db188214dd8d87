# The CPU demo with SymMIM's visible-token path (MAE-style): both encoders
# see only their visible tokens, a 2-block decoder (width 128) re-inserts mask
# tokens and predicts the masked pixels. Same data, schedule and report as
# symmim_vit-tiny-p4_1xb128-200i_fmnist.py (the mask-token path).
_base_ = './symmim_vit-tiny-p4_1xb128-200i_fmnist.py'

img_size = 32
patch_size = 4
embed_dims = 128

model = dict(
    encoder_input='visible',
    backbone=dict(use_mask_token=False),
    mim_neck=dict(
        _delete_=True,
        type='SymMIMDecoder',
        num_patches=(img_size // patch_size)**2,
        patch_size=patch_size,
        embed_dim=embed_dims,
        decoder_embed_dim=128,
        decoder_depth=2,
        decoder_num_heads=4,
        mlp_ratio=4),
    mim_head=dict(
        _delete_=True,
        type='MAEPretrainHead',
        patch_size=patch_size,
        loss=dict(type='PixelReconstructionLoss', criterion='L1')))
