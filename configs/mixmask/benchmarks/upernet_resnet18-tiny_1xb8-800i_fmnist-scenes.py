# UperNet on Fashion-MNIST scenes with the CPU demo's ResNet: the shipped
# ADE20K config (upernet_resnet50_8xb2-160k_ade20k-512x512.py: BatchNorm
# trained, no frozen stage) at tiny size, for the dense-transfer study
# (tools/analysis_tools/study/run.py transfer) on 2 CPU cores. What changes:
#  * size: the MixMask demo's CIFAR-stem ResNet-18 with 16 base channels
#    (stages at strides 1 / 2 / 4 / 8, 16-128 channels; R50's are 4-32),
#    64 px input, UperNet 64 channels, auxiliary FCN 32 on the third stage;
#    BatchNorm instead of SyncBN (one process: the same thing);
#  * data: the scenes' class-index maps (background + the 10 garments, 11
#    classes, background counted: reduce_zero_label=False), pixel
#    statistics of the pretraining (grey, mean 72.9, std 90), ADE20K's
#    resize range (0.5-2.0) and 0.75 crop rule at 64 px, no photometric
#    distortion (grey images: its hue and saturation steps do not apply);
#    whole-image inference (the shipped R50 config's mode);
#  * schedule: 800 iterations of batch 8 on one process, poly (power 0.9)
#    as shipped, SGD lr 0.04 (shipped: 0.01 for 160k iterations; at 0.01 the
#    segmenter learned background and little else in 800 iterations: MoCo
#    v2 s0 checkpoint, test mIoU 20.1 against 30.6 at 0.04;
#    docs/transfer_study.md).
#   CONFIG=configs/mixmask/benchmarks/upernet_resnet18-tiny_1xb8-800i_fmnist-scenes.py  # noqa: E501
#   .venv/bin/python tools/train.py $CONFIG \
#       --cfg-options model.backbone.init_cfg.checkpoint=work_dirs/mixmask-mocov2_resnet18-tiny_1xb128-400i_fmnist/iter_400.pth  # noqa: E501
_base_ = './upernet_resnet50_8xb2-160k_ade20k-512x512.py'

# the scenes:
# tools/dataset_converters/make_fmnist_scenes.py --out data/fmnist_scenes
data_root = 'data/fmnist_scenes/'
crop_size = (64, 64)
max_iters = 800
num_classes = 11
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    data_preprocessor=dict(
        # the pretraining's (configs/_base_/fmnist_demo.py): grey on 0-255
        mean=[72.9, 72.9, 72.9],
        std=[90.0, 90.0, 90.0],
        bgr_to_rgb=False,
        size=crop_size),
    backbone=dict(
        _delete_=True,
        type='mmpretrain.ResNet_CIFAR',
        depth=18,
        stem_channels=16,
        base_channels=16,
        out_indices=(0, 1, 2, 3),
        frozen_stages=-1,
        norm_cfg=norm_cfg,
        norm_eval=False,
        init_cfg=dict(
            type='Pretrained',
            checkpoint='work_dirs/mixmask-mocov2_resnet18-tiny_1xb128-400i_'
            'fmnist/iter_400.pth',
            prefix='backbone.')),
    decode_head=dict(
        in_channels=[16, 32, 64, 128], channels=64, num_classes=num_classes,
        norm_cfg=norm_cfg),
    auxiliary_head=dict(
        in_channels=64, channels=32, num_classes=num_classes,
        norm_cfg=norm_cfg))

metainfo = dict(
    classes=('background', 'T-shirt/top', 'Trouser', 'Pullover', 'Dress',
             'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'))
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', reduce_zero_label=False),
    dict(type='RandomResize', scale=crop_size, ratio_range=(0.5, 2.0),
         keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=crop_size, keep_ratio=True),
    dict(type='LoadAnnotations', reduce_zero_label=False),
    dict(type='PackSegInputs'),
]
scenes = dict(
    type='BaseSegDataset', data_root=data_root, metainfo=metainfo,
    img_suffix='.png', seg_map_suffix='.png', reduce_zero_label=False)
train_dataloader = dict(
    batch_size=8,
    num_workers=1,
    persistent_workers=True,
    dataset=dict(
        _delete_=True,
        data_prefix=dict(img_path='images/train', seg_map_path='seg/train'),
        pipeline=train_pipeline,
        **scenes))
val_dataloader = dict(
    batch_size=8,
    num_workers=1,
    persistent_workers=True,
    dataset=dict(
        _delete_=True,
        data_prefix=dict(img_path='images/val', seg_map_path='seg/val'),
        pipeline=test_pipeline,
        **scenes))
test_dataloader = dict(
    batch_size=8,
    num_workers=1,
    persistent_workers=True,
    dataset=dict(
        _delete_=True,
        data_prefix=dict(img_path='images/test', seg_map_path='seg/test'),
        pipeline=test_pipeline,
        **scenes))

optim_wrapper = dict(optimizer=dict(lr=0.04))
train_cfg = dict(
    _delete_=True, type='IterBasedTrainLoop', max_iters=max_iters,
    val_interval=max_iters)
param_scheduler = [
    dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=0, end=max_iters,
         by_epoch=False),
]
default_hooks = dict(
    logger=dict(interval=50),
    checkpoint=dict(by_epoch=False, interval=200, max_keep_ckpts=1))
