# MixMask-MoCo v2 ResNet-50 on a folder of your own unlabeled images, view
# augmentation on the device:
# mixmask-mocov2_resnet50_8xb32-coslr-200e_folder.py (bad files skipped with
# a warning) with the worker pipeline and ViewAugDataPreprocessor of the
# ImageNet *_device-aug_* config.
_base_ = './mixmask-mocov2_resnet50_device-aug_8xb32-coslr-200e_in1k.py'

data_root = 'data/images'
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='CustomDataset',
        data_root=data_root,
        with_label=False,
        pipeline=[
            dict(type='SafeLoadImageFromFile', on_error='skip'),
            *_base_.train_pipeline[1:]
        ]))
