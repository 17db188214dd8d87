# Mask R-CNN R-FPN on Fashion-MNIST scenes with the CPU demo's ResNet: the
# shipped COCO config (mask-rcnn_resnet50_fpn_8xb2-1x_coco.py, mmdet's
# self-supervised protocol: BatchNorm trained in backbone and FPN, no frozen
# stage) at tiny size, for the dense-transfer study
# (tools/analysis_tools/study/run.py transfer) on 2 CPU cores. What changes:
#  * size: the MixMask demo's CIFAR-stem ResNet-18 with 16 base channels
#    (stages at strides 1 / 2 / 4 / 8, 16-128 channels), 64 px input; the
#    FPN from its last two stages plus a max-pooled level (strides 4 / 8 /
#    16, as the ViT scene config's pyramid: the RPN anchors and RoI
#    extractors follow), 64 channels, anchors of 16-64 px, a 2-conv mask
#    head, 64 sampled RoIs an image; BatchNorm instead of SyncBN (one
#    process: the same thing);
#  * data: the scenes (64x64, 2-5 garments; make_fmnist_scenes.py), pixel
#    statistics of the pretraining (grey, mean 72.9, std 90), flips;
#  * schedule: 800 iterations of batch 8, 80 warm-up, lr x0.1 at 67 % and
#    89 % (the 1x schedule's epochs 8 and 11 of 12), SGD lr 0.02 as shipped
#    (batch 16 there, 8 here: the short schedule keeps the peak).
#   CONFIG=configs/mixmask/benchmarks/mask-rcnn_resnet18-tiny_fpn_1xb8-800i_fmnist-scenes.py  # noqa: E501
#   .venv/bin/python tools/train.py $CONFIG \
#       --cfg-options model.backbone.init_cfg.checkpoint=work_dirs/mixmask-mocov2_resnet18-tiny_1xb128-400i_fmnist/iter_400.pth  # noqa: E501
_base_ = './mask-rcnn_resnet50_fpn_8xb2-1x_coco.py'

# the scenes:
# tools/dataset_converters/make_fmnist_scenes.py --out data/fmnist_scenes
data_root = 'data/fmnist_scenes/'
image_size = (64, 64)
max_iters = 800
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    data_preprocessor=dict(
        # the pretraining's (configs/_base_/fmnist_demo.py): grey on 0-255
        mean=[72.9, 72.9, 72.9],
        std=[90.0, 90.0, 90.0],
        bgr_to_rgb=False,
        pad_size_divisor=16),
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
    neck=dict(
        in_channels=[16, 32, 64, 128], out_channels=64, start_level=2,
        num_outs=3, norm_cfg=norm_cfg),
    rpn_head=dict(
        in_channels=64,
        feat_channels=64,
        anchor_generator=dict(scales=[4], strides=[4, 8, 16])),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=64, featmap_strides=[4, 8, 16]),
        bbox_head=dict(in_channels=64, fc_out_channels=256, num_classes=10),
        mask_roi_extractor=dict(out_channels=64, featmap_strides=[4, 8, 16]),
        mask_head=dict(
            num_convs=2, in_channels=64, conv_out_channels=64,
            num_classes=10)),
    train_cfg=dict(
        rpn_proposal=dict(nms_pre=1000, max_per_img=300),
        rcnn=dict(sampler=dict(num=64))),
    test_cfg=dict(
        rpn=dict(nms_pre=500, max_per_img=100),
        rcnn=dict(max_per_img=20)))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=image_size, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                    'scale_factor')),
]
metainfo = dict(
    classes=('T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal',
             'Shirt', 'Sneaker', 'Bag', 'Ankle boot'))
train_dataloader = dict(
    batch_size=8,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    batch_sampler=None,
    dataset=dict(
        data_root=data_root,
        ann_file='annotations/instances_train.json',
        data_prefix=dict(img='images/'),
        metainfo=metainfo,
        filter_cfg=dict(filter_empty_gt=True, min_size=4),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8,
    num_workers=1,
    persistent_workers=True,
    dataset=dict(
        data_root=data_root,
        ann_file='annotations/instances_val.json',
        data_prefix=dict(img='images/'),
        metainfo=metainfo,
        pipeline=test_pipeline))
test_dataloader = dict(
    batch_size=8,
    num_workers=1,
    persistent_workers=True,
    dataset=dict(
        data_root=data_root,
        ann_file='annotations/instances_test.json',
        data_prefix=dict(img='images/'),
        metainfo=metainfo,
        pipeline=test_pipeline))
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val.json')
test_evaluator = dict(
    ann_file=data_root + 'annotations/instances_test.json')

train_cfg = dict(
    _delete_=True, type='IterBasedTrainLoop', max_iters=max_iters,
    val_interval=max_iters)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0,
         end=80),
    dict(type='MultiStepLR', by_epoch=False, begin=0, end=max_iters,
         milestones=[int(8 / 12 * max_iters), int(11 / 12 * max_iters)],
         gamma=0.1),
]
auto_scale_lr = dict(enable=False)
default_hooks = dict(
    logger=dict(interval=50),
    checkpoint=dict(by_epoch=False, interval=200, max_keep_ckpts=1))
log_processor = dict(by_epoch=False)
