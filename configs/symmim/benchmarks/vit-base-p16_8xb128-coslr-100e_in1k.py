# Fine-tune a SymMIM ViT-B/16 on ImageNet-1k: 100 epochs, batch 1024 =
# 8 GPUs x 128, AdamW lr 2e-3, layer-wise lr decay 0.65, RandAugment, Mixup
# 0.8 / CutMix 1.0, label smoothing 0.1, drop path 0.1 (mmpretrain's MAE ViT-B
# fine-tune recipe). The class token is the feature (trained by SymMIM's
# contrastive branch), after the final LayerNorm.
#   CONFIG=configs/symmim/benchmarks/vit-base-p16_8xb128-coslr-100e_in1k.py
#   python tools/train.py $CONFIG \
#       --cfg-options model.backbone.init_cfg.checkpoint=work_dirs/symmim_vit-base-p16_16xb256-amp-coslr-600e_in1k/epoch_600.pth  # noqa: E501
_base_ = 'mmpretrain::mae/benchmarks/vit-base-p16_8xb128-coslr-100e_in1k.py'
custom_imports = dict(imports=['mmsymmim'], allow_failed_imports=False)

model = dict(
    backbone=dict(
        out_type='cls_token',
        final_norm=True,
        init_cfg=dict(
            type='Pretrained',
            checkpoint='work_dirs/symmim_vit-base-p16_16xb256-amp-coslr-600e_'
            'in1k/epoch_600.pth',
            prefix='backbone.')))
