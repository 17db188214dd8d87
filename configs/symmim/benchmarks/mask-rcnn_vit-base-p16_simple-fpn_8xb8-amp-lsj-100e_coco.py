# Mask R-CNN on COCO with a SymMIM ViT-B/16 backbone, ViTDet style:
#  * backbone: windowed attention (14x14 windows) with global attention in
#    blocks 3, 6, 9, 12; abs. position embedding resized 14x14 -> 64x64 on
#    load; drop path 0.1 (mmsymmim's ViTDetBackbone = mmpretrain's ViT);
#  * neck: simple feature pyramid from the stride-16 map (x4, x2, x1, x0.5,
#    plus P6 by max-pool), LayerNorm in the pyramid;
#  * data: large-scale jitter (1024x1024, scale 0.1-2.0), mmdet's LSJ recipe;
#  * schedule: 25 epochs over COCO repeated 4x (= 100 epochs, ViTDet's), lr
#    x0.1 at 88 % and 96 %, batch 64 = 8 GPUs x 8, AMP;
#  * optimiser: AdamW lr 1e-4, weight decay 0.1, layer-wise lr decay 0.7.
#  * heads: ViTDet's, normalised: a 2-conv RPN head, a 4-conv + 1-fc box head
#    and the 4-conv mask head, LayerNorm after every conv (mmdet's plain
#    heads, unnormalised, leave the RoI classifier at the background share
#    of its samples for the whole of a short fine-tune:
#    docs/transfer_study.md).
#   CONFIG=configs/symmim/benchmarks/mask-rcnn_vit-base-p16_simple-fpn_8xb8-amp-lsj-100e_coco.py  # noqa: E501
#   bash tools/dist_train.sh $CONFIG 8 \
#       --cfg-options model.backbone.init_cfg.checkpoint=work_dirs/symmim_vit-base-p16_16xb256-amp-coslr-600e_in1k/epoch_600.pth  # noqa: E501
_base_ = 'mmdet::mask_rcnn/mask-rcnn_r50_fpn_8xb8-amp-lsj-200e_coco.py'
custom_imports = dict(
    imports=['mmsymmim', 'mmsymmim.downstream.det'],
    allow_failed_imports=False)

image_size = (1024, 1024)
model = dict(
    backbone=dict(
        _delete_=True,
        type='ViTDetBackbone',
        arch='base',
        img_size=image_size[0],
        patch_size=16,
        drop_path_rate=0.1,
        window_size=14,
        global_attn_indices=(2, 5, 8, 11),
        final_norm=False,
        init_cfg=dict(
            type='Pretrained',
            checkpoint='work_dirs/symmim_vit-base-p16_16xb256-amp-coslr-600e_'
            'in1k/epoch_600.pth',
            prefix='backbone.')),
    neck=dict(
        _delete_=True,
        type='SimpleFeaturePyramid',
        in_channels=768,
        out_channels=256,
        scale_factors=(4.0, 2.0, 1.0, 0.5),
        num_outs=5),
    rpn_head=dict(num_convs=2),
    roi_head=dict(
        bbox_head=dict(
            type='Shared4Conv1FCBBoxHead',
            conv_out_channels=256,
            norm_cfg=dict(type='LN2d', requires_grad=True)),
        mask_head=dict(norm_cfg=dict(type='LN2d', requires_grad=True))))

# before the first step: every backbone tensor holds the checkpoint's, and
# the pyramid's measured strides are the anchors' and RoI extractors'
custom_hooks = [
    dict(type='PretrainedCheckHook'),
    dict(type='PyramidStrideCheckHook')
]
train_dataloader = dict(dataset=dict(times=4))
optim_wrapper = dict(
    _delete_=True,
    type='AmpOptimWrapper',
    optimizer=dict(
        type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.1),
    constructor='BackboneLayerDecayOptimWrapperConstructor',
    paramwise_cfg=dict(
        layer_decay_rate=0.7,
        norm_decay_mult=0.0,
        bias_decay_mult=0.0,
        custom_keys={'.pos_embed': dict(decay_mult=0.0)}))
