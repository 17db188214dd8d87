# SymMIM ViT-B/16 with a SimMIM-style encoder: masked patches become a mask
# token and both encoders run on all 197 tokens (about 2x the cost of the
# default visible-token config); a linear pixel decoder (SimMIM's) with L1 on
# the masked pixels. The paper's public text says its encoder is a ViT, not
# whether it takes mask tokens or drops the masked patches: this config and
# the default one are the two readings. Everything else as the default ViT-B
# config.
_base_ = './symmim_vit-base-p16_16xb256-amp-coslr-600e_in1k.py'

embed_dims = 768
patch_size = 16
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
