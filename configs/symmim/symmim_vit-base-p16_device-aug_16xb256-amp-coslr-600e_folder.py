# SymMIM ViT-B/16 on a folder of your own unlabeled images, view augmentation
# on the device: symmim_vit-base-p16_16xb256-amp-coslr-600e_folder.py (every
# image under `data_root`, bad files skipped with a warning) with the worker
# pipeline and ViewAugDataPreprocessor of the ImageNet *_device-aug_* config.
#   CONFIG=configs/symmim/symmim_vit-base-p16_device-aug_16xb256-amp-coslr-600e_folder.py  # noqa: E501
#   bash tools/dist_train.sh $CONFIG 8 \
#       --cfg-options train_dataloader.dataset.data_root=/path/to/images
_base_ = './symmim_vit-base-p16_device-aug_16xb256-amp-coslr-600e_in1k.py'

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
