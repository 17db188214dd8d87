# Mask R-CNN R50-FPN on COCO from a MixMask (or MoCo v2) ResNet-50
# checkpoint, with the self-supervised transfer protocol mmdet itself ships
# for MoCo v2 (mmdet::selfsup_pretrain/mask-rcnn_r50-mocov2-pre_fpn_1x_coco):
# SyncBN in the backbone and the FPN, BatchNorm statistics trained
# (norm_eval=False), no frozen stage, 1x schedule (12 epochs, batch 16 =
# 8 GPUs x 2, SGD lr 0.02). The checkpoint is this plugin's pretraining
# output: its online encoder's ``backbone.*`` tensors load with
# prefix='backbone.' into mmdet's ResNet (same parameter names), no surgery.
#   CONFIG=configs/mixmask/benchmarks/mask-rcnn_resnet50_fpn_8xb2-1x_coco.py
#   bash tools/dist_train.sh $CONFIG 8 \
#       --cfg-options model.backbone.init_cfg.checkpoint=work_dirs/mixmask-mocov2_resnet50_8xb32-coslr-200e_in1k/epoch_200.pth  # noqa: E501
_base_ = 'mmdet::selfsup_pretrain/mask-rcnn_r50-mocov2-pre_fpn_1x_coco.py'
custom_imports = dict(
    imports=['mmsymmim', 'mmsymmim.downstream.det'],
    allow_failed_imports=False)

norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    backbone=dict(
        init_cfg=dict(
            type='Pretrained',
            checkpoint='work_dirs/mixmask-mocov2_resnet50_8xb32-coslr-200e_in1k/'
            'epoch_200.pth',
            prefix='backbone.')),
    neck=dict(norm_cfg=norm_cfg))
# before the first step: every backbone tensor holds the checkpoint's, and
# the pyramid's measured strides are the anchors' and RoI extractors'
custom_hooks = [
    dict(type='PretrainedCheckHook'),
    dict(type='PyramidStrideCheckHook')
]
