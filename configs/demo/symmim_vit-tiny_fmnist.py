# CPU demo (README command 1): SymMIM on the 60,000 Fashion-MNIST train images
# (no labels), a ViT of width 128 / depth 4 / patch 4 at 32 px, then weighted
# k-NN (k=20) of the frozen class token on the 10,000 test images, before
# (random init) and after pretraining. About 5 minutes on 2 CPU cores.
_base_ = 'mmpretrain::_base_/default_runtime.py'
custom_imports = dict(imports=['mmsymmim'], allow_failed_imports=False)

data_root = '/usr/share/datasets/fashion-mnist'  # Debian: dataset-fashion-mnist
img_size = 32
patch_size = 4
embed_dims = 128
batch_size = 128
max_iters = 200
temperature = 0.2

data_preprocessor = dict(
    type='SelfSupDataPreprocessor',
    mean=[72.9, 72.9, 72.9],  # Fashion-MNIST train statistics, 0-255 scale
    std=[90.0, 90.0, 90.0],
    to_rgb=False)

view_pipeline = [
    dict(type='RandomResizedCrop', scale=img_size, crop_ratio_range=(0.35, 1.)),
    dict(type='RandomFlip', prob=0.5),
]
train_pipeline = [
    dict(type='MultiView', num_views=2, transforms=[view_pipeline]),
    # online encoder: fine board (k=1); EMA encoder: 2x2-token blocks (8 px)
    dict(
        type='SymmetricMaskGenerator',
        input_size=img_size,
        model_patch_size=patch_size,
        scale=1,
        ema_scale=2),
    dict(type='PackInputs', algorithm_keys=['ema_mask']),
]
train_dataloader = dict(
    batch_size=batch_size,
    num_workers=1,
    persistent_workers=True,
    drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type='FashionMNISTIDX',
        data_root=data_root,
        split='train',
        pipeline=train_pipeline))

model = dict(
    type='SymMIM',
    data_preprocessor=data_preprocessor,
    base_momentum=0.01,
    backbone=dict(
        type='SymMIMViT',
        arch=dict(
            embed_dims=embed_dims,
            num_layers=4,
            num_heads=4,
            feedforward_channels=embed_dims * 4),
        img_size=img_size,
        patch_size=patch_size),
    neck=dict(
        type='NonLinearNeck',
        in_channels=embed_dims,
        hid_channels=512,
        out_channels=128,
        num_layers=3,
        with_bias=False,
        with_last_bn=True,
        with_last_bn_affine=False,
        with_last_bias=False,
        with_avg_pool=False),
    head=dict(
        type='FastMoCoV3Head',  # MoCoV3Head, labels made on the device
        predictor=dict(
            type='NonLinearNeck',
            in_channels=128,
            hid_channels=512,
            out_channels=128,
            num_layers=2,
            with_bias=False,
            with_last_bn=True,
            with_last_bn_affine=False,
            with_last_bias=False,
            with_avg_pool=False),
        loss=dict(type='CrossEntropyLoss', loss_weight=2 * temperature),
        temperature=temperature),
    mim_neck=dict(
        type='SimMIMLinearDecoder',
        in_channels=embed_dims,
        encoder_stride=patch_size),
    mim_head=dict(
        type='SimMIMHead',
        patch_size=patch_size,
        loss=dict(type='PixelReconstructionLoss', criterion='L1', channel=3)))

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1.5e-3, betas=(0.9, 0.95), weight_decay=0.05),
    paramwise_cfg=dict(
        norm_decay_mult=0.0,
        bias_decay_mult=0.0,
        custom_keys={
            'mask_token': dict(decay_mult=0.),
            'cls_token': dict(decay_mult=0.),
        }))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=20),
    dict(
        type='CosineAnnealingLR',
        T_max=max_iters - 20,
        eta_min=1e-5,
        by_epoch=False,
        begin=20,
        end=max_iters),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters)

knn_pipeline = [
    dict(type='Resize', scale=(img_size, img_size)),
    dict(type='PackInputs'),
]

knn_loader = dict(
    batch_size=500,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type='FashionMNISTIDX',
        data_root=data_root,
        split='train',
        indices=10000,  # memory bank: the first 10,000 train images
        pipeline=knn_pipeline))
custom_hooks = [
    dict(
        type='KNNEvalHook',
        bank_dataloader=knn_loader,
        test_dataloader=dict(
            knn_loader,
            dataset=dict(knn_loader['dataset'], split='test', indices=None)),
        num_classes=10,
        k=20,
        temperature=0.07),
]
default_hooks = dict(
    loss_guard=dict(type='LossGuardHook', action='raise'),  # NaN/inf: stop
    logger=dict(type='LoggerHook', interval=10),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=max_iters,
                    max_keep_ckpts=1))
log_processor = dict(by_epoch=False)
env_cfg = dict(dist_cfg=dict(backend='gloo'))
randomness = dict(seed=0)
