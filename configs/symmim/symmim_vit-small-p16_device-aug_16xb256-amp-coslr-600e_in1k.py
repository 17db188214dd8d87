# SymMIM ViT-S/16, ImageNet-1k, view augmentation on the device: the ViT-B
# *_device-aug_* config (worker decodes, crops, masks; ViewAugDataPreprocessor
# does the rest of MoCo v3's views) with the ViT-S model of
# symmim_vit-small-p16_16xb256-amp-coslr-600e_in1k.py (same three changes).
_base_ = './symmim_vit-base-p16_device-aug_16xb256-amp-coslr-600e_in1k.py'

embed_dims = 384
model = dict(
    backbone=dict(arch='mocov3-small'),
    neck=dict(in_channels=embed_dims),
    mim_neck=dict(embed_dim=embed_dims))
