# The CPU demo with the SimMIM-style encoder: masked patches become a
# mask token and both encoders run on all 65 tokens; a linear pixel decoder
# (SimMIM's) with L1 on the masked pixels. Same data, schedule and report as
# the default demo symmim_vit-tiny-p4_1xb128-400i_fmnist.py (visible tokens,
# symmetric=False as here), at 1.7x its time an iteration.
_base_ = './symmim_vit-tiny-p4_1xb128-400i_fmnist.py'

embed_dims = 128
patch_size = 4
model = dict(
    encoder_input='mask_token',
    backbone=dict(use_mask_token=True),
    mim_neck=dict(
        _delete_=True,
        type='SimMIMLinearDecoder',
        in_channels=embed_dims,
        encoder_stride=patch_size),
    mim_head=dict(
        _delete_=True,
        type='SimMIMHead',
        patch_size=patch_size,
        loss=dict(type='PixelReconstructionLoss', criterion='L1', channel=3)))
