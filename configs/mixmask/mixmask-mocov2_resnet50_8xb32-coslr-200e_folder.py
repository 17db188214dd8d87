# MixMask-MoCo v2 ResNet-50 on a folder of your own unlabeled images: the
# ImageNet recipe of mixmask-mocov2_resnet50_8xb32-coslr-200e_in1k.py with
# mmpretrain's CustomDataset(with_label=False): every .jpg/.jpeg/.png/.ppm/
# .bmp/.pgm/.tif under `data_root`, sub-folders included. A file that fails to
# decode is skipped with a warning naming it; a missing or empty folder stops
# tools/train.py with one line, before the model is built. Epochs count
# passes over your folder: set `train_cfg.max_epochs` to suit its size.
#   bash tools/dist_train.sh \
#       configs/mixmask/mixmask-mocov2_resnet50_8xb32-coslr-200e_folder.py 8 \
#       --cfg-options train_dataloader.dataset.data_root=/path/to/images
_base_ = './mixmask-mocov2_resnet50_8xb32-coslr-200e_in1k.py'

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
