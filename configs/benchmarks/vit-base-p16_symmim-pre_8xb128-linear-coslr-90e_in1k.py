# Linear probe of a frozen SymMIM ViT-B/16 on ImageNet-1k: class token,
# SGD lr 12 (batch 1024 = 8 GPUs x 128), 90 epochs cosine, no weight decay
# (mmpretrain's MoCo v3 ViT-B linear recipe).
#   python tools/train.py configs/benchmarks/vit-base-p16_symmim-pre_8xb128-linear-coslr-90e_in1k.py \
#       --cfg-options model.backbone.init_cfg.checkpoint=work_dirs/symmim_vit-b/epoch_300.pth
_base_ = 'mmpretrain::mocov3/benchmarks/vit-base-p16_8xb128-linear-coslr-90e_in1k.py'
custom_imports = dict(imports=['mmsymmim'], allow_failed_imports=False)

pretrained = 'work_dirs/symmim_vit-b/epoch_300.pth'
model = dict(
    backbone=dict(
        stop_grad_conv1=False,
        init_cfg=dict(
            type='Pretrained', checkpoint=pretrained, prefix='backbone.')))
