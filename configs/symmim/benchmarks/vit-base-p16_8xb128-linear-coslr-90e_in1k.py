# Linear probe of a frozen SymMIM ViT-B/16 on ImageNet-1k: class token,
# SGD lr 12 (batch 1024 = 8 GPUs x 128), 90 epochs cosine, no weight decay
# (mmpretrain's MoCo v3 ViT-B linear recipe).
#   CONFIG=configs/symmim/benchmarks/vit-base-p16_8xb128-linear-coslr-90e_in1k.py  # noqa: E501
#   python tools/train.py $CONFIG \
#       --cfg-options model.backbone.init_cfg.checkpoint=work_dirs/symmim_vit-base-p16_16xb256-amp-coslr-600e_in1k/epoch_600.pth  # noqa: E501
_base_ = 'mmpretrain::mocov3/benchmarks/vit-base-p16_8xb128-linear-coslr-90e_in1k.py'  # noqa: E501
custom_imports = dict(imports=['mmsymmim'], allow_failed_imports=False)

model = dict(
    backbone=dict(
        stop_grad_conv1=False,
        init_cfg=dict(
            type='Pretrained',
            checkpoint='work_dirs/symmim_vit-base-p16_16xb256-amp-coslr-600e_'
            'in1k/epoch_600.pth',
            prefix='backbone.')))
