# SymMIM ViT-B/16 on ImageNet-1k with the view augmentation on the device:
# symmim_vit-base-p16_16xb256-amp-coslr-600e_in1k.py (same model, schedule,
# masks and recipe) with the loader workers doing only what needs the source
# image -- decode, RandomResizedCrop per view, the symmetric masks (drawn on
# the crop's 14 x 14 token grid), packing uint8 -- and the rest of MoCo v3's
# two view recipes (colour jitter 0.4/0.4/0.2/0.1 p=0.8, grey p=0.2, blur
# sigma 0.1-2 p=1.0 / 0.1, solarize 128 p=0 / 0.2, flip 0.5, in that order)
# done per image by ViewAugDataPreprocessor + DeviceViewAugment on the
# collated batch before normalisation. The device recipe is the CPU
# config's own view lists less their crop, so the two cannot drift apart.
# Why and what it costs: docs/benchmarks.md ("Augmentation on the device").
_base_ = './symmim_vit-base-p16_16xb256-amp-coslr-600e_in1k.py'

train_pipeline = [
    dict(type='SafeLoadImageFromFile', on_error='raise'),
    dict(
        type='MultiView',
        num_views=[1, 1],
        transforms=[[_base_.view_pipeline1[0]], [_base_.view_pipeline2[0]]]),
    _base_.train_pipeline[2],  # SymmetricMaskGenerator
    _base_.train_pipeline[3],  # PackInputs (uint8 views)
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))

data_preprocessor = dict(
    type='ViewAugDataPreprocessor',
    view_aug=dict(
        type='DeviceViewAugment',
        views=[_base_.view_pipeline1[1:], _base_.view_pipeline2[1:]]))
