# MixMask-MoCo v2 ResNet-50, ImageNet-1k, view augmentation on the device:
# mixmask-mocov2_resnet50_8xb32-coslr-200e_in1k.py with the loader workers
# doing only decode + RandomResizedCrop (0.2-1) per view + packing uint8,
# and the rest of MoCo v2's view recipe (colour jitter 0.4/0.4/0.4/0.1
# p=0.8, grey p=0.2, blur sigma 0.1-2 p=0.5, flip 0.5, in that order) done
# per image on the collated batch by ViewAugDataPreprocessor +
# DeviceViewAugment, before normalisation and before MixMask mixes the
# batch. The device recipe is the CPU config's view list less its crop.
_base_ = './mixmask-mocov2_resnet50_8xb32-coslr-200e_in1k.py'

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='MultiView', num_views=2,
         transforms=[[_base_.view_pipeline[0]]]),
    dict(type='PackInputs'),  # uint8 views
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))

data_preprocessor = dict(
    type='ViewAugDataPreprocessor',
    view_aug=dict(
        type='DeviceViewAugment',
        views=[_base_.view_pipeline[1:], _base_.view_pipeline[1:]]))
