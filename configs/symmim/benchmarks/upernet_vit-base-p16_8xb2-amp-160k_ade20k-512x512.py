# UperNet on ADE20K (150 classes, 512x512 crops, 160k iterations, batch 16 =
# 8 GPUs x 2) with a SymMIM ViT-B/16 backbone. Recipe of mmseg's MAE ViT-B
# UperNet: AdamW lr 1e-4, betas (0.9, 0.999), weight decay 0.05, layer-wise lr
# decay 0.65, 1500 warm-up iterations then poly, drop path 0.1, features of
# blocks 4/6/8/12 rescaled x4/x2/x1/x0.5, slide inference (stride 341).
# The backbone is mmpretrain's VisionTransformer, whose parameter names are
# SymMIM's, so the checkpoint loads with prefix='backbone.' and no surgery
# (the position embedding is resized 14x14 -> 32x32 bicubically on load).
#   CONFIG=configs/symmim/benchmarks/upernet_vit-base-p16_8xb2-amp-160k_ade20k-512x512.py  # noqa: E501
#   python tools/train.py $CONFIG \
#       --cfg-options model.backbone.init_cfg.checkpoint=work_dirs/symmim_vit-base-p16_16xb256-amp-coslr-600e_in1k/epoch_600.pth  # noqa: E501
_base_ = 'mmseg::mae/mae-base_upernet_8xb2-amp-160k_ade20k-512x512.py'
custom_imports = dict(
    imports=['mmsymmim', 'mmsymmim.downstream.seg'],
    allow_failed_imports=False)

model = dict(
    pretrained=None,
    backbone=dict(
        _delete_=True,
        type='mmpretrain.VisionTransformer',
        arch='base',
        img_size=512,
        patch_size=16,
        drop_path_rate=0.1,
        out_type='featmap',
        out_indices=[3, 5, 7, 11],
        final_norm=False,
        init_cfg=dict(
            type='Pretrained',
            checkpoint='work_dirs/symmim_vit-base-p16_16xb256-amp-coslr-600e_in1k/'
            'epoch_600.pth',
            prefix='backbone.')))

# before the first step: every backbone tensor holds the checkpoint's
custom_hooks = [dict(type='PretrainedCheckHook')]
optim_wrapper = dict(
    _delete_=True,
    type='AmpOptimWrapper',
    optimizer=dict(
        type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.05),
    constructor='BackboneLayerDecayOptimWrapperConstructor',
    paramwise_cfg=dict(
        layer_decay_rate=0.65,
        norm_decay_mult=0.0,
        bias_decay_mult=0.0,
        custom_keys={
            '.pos_embed': dict(decay_mult=0.0),
            '.cls_token': dict(decay_mult=0.0),
        }))
