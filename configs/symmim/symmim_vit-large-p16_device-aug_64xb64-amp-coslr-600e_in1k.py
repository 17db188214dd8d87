# SymMIM ViT-L/16, ImageNet-1k, view augmentation on the device: the ViT-B
# *_device-aug_* config (worker decodes, crops, masks; ViewAugDataPreprocessor
# does the rest of MoCo v3's views) with the ViT-L model, batch and gradient
# clipping of symmim_vit-large-p16_64xb64-amp-coslr-600e_in1k.py.
_base_ = './symmim_vit-base-p16_device-aug_16xb256-amp-coslr-600e_in1k.py'

embed_dims = 1024
train_dataloader = dict(batch_size=64)
model = dict(
    backbone=dict(arch='large'),
    neck=dict(in_channels=embed_dims),
    mim_neck=dict(embed_dim=embed_dims))
optim_wrapper = dict(clip_grad=dict(max_norm=5.0, error_if_nonfinite=False))
