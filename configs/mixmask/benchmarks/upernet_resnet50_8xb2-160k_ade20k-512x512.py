# UperNet R50 on ADE20K (150 classes, 512x512 crops, 160k iterations, batch
# 16 = 8 GPUs x 2) from a MixMask (or MoCo v2) ResNet-50 checkpoint: mmseg's
# own upernet_r50_4xb4-160k_ade20k-512x512 with the backbone a plain ResNet-50
# (the pretraining's; mmseg's default is the deep-stem ResNetV1c, whose stem
# has other tensors) loaded with prefix='backbone.', SyncBN, BatchNorm
# statistics trained (norm_eval=False), no frozen stage, as in mmdet's
# self-supervised transfer protocol. UperNet rather than mmselfsup's FCN:
# the same decoder as the ViT's ADE20K config (UperNet), so a MixMask and a
# SymMIM checkpoint differ only in the encoder.
#   CONFIG=configs/mixmask/benchmarks/upernet_resnet50_8xb2-160k_ade20k-512x512.py  # noqa: E501
#   bash tools/dist_train.sh $CONFIG 8 \
#       --cfg-options model.backbone.init_cfg.checkpoint=work_dirs/mixmask-mocov2_resnet50_8xb32-coslr-200e_in1k/epoch_200.pth  # noqa: E501
_base_ = 'mmseg::upernet/upernet_r50_4xb4-160k_ade20k-512x512.py'
custom_imports = dict(
    imports=['mmsymmim', 'mmsymmim.downstream.seg'],
    allow_failed_imports=False)

model = dict(
    pretrained=None,
    backbone=dict(
        type='ResNet',
        depth=50,
        deep_stem=False,
        frozen_stages=-1,
        norm_eval=False,
        init_cfg=dict(
            type='Pretrained',
            checkpoint='work_dirs/mixmask-mocov2_resnet50_8xb32-coslr-200e_in1k/'
            'epoch_200.pth',
            prefix='backbone.')))
train_dataloader = dict(batch_size=2)  # 8 GPUs x 2 = the recipe's 16
# before the first step: every backbone tensor holds the checkpoint's
custom_hooks = [dict(type='PretrainedCheckHook')]
