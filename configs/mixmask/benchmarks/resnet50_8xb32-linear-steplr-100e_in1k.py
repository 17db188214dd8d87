# Linear probe of a frozen MixMask ResNet-50 on ImageNet-1k: SGD lr 30,
# momentum 0.9, no weight decay, 100 epochs, lr x0.1 at epochs 60 and 80,
# batch 256 = 8 GPUs x 32 (mmpretrain's MoCo v2 linear recipe = MixMask's).
#   CONFIG=configs/mixmask/benchmarks/resnet50_8xb32-linear-steplr-100e_in1k.py
#   python tools/train.py $CONFIG \
#       --cfg-options model.backbone.init_cfg.checkpoint=work_dirs/mixmask-mocov2_resnet50_8xb32-coslr-200e_in1k/epoch_200.pth  # noqa: E501
_base_ = 'mmpretrain::mocov2/benchmarks/resnet50_8xb32-linear-steplr-100e_in1k.py'  # noqa: E501
custom_imports = dict(imports=['mmsymmim'], allow_failed_imports=False)

model = dict(
    backbone=dict(
        init_cfg=dict(
            type='Pretrained',
            checkpoint='work_dirs/mixmask-mocov2_resnet50_8xb32-coslr-200e_'
            'in1k/epoch_200.pth',
            prefix='backbone.')))
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=30., momentum=0.9, weight_decay=0.))
param_scheduler = [
    dict(type='MultiStepLR', by_epoch=True, milestones=[60, 80], gamma=0.1)
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=100)
