# MixMask on MoCo v3, ResNet-50, ImageNet-1k, 100 epochs: mmpretrain's MoCo v3
# ResNet-50 recipe (batch 4096 = 8 GPUs x 512, LARS lr 9.6, wd 1e-6, AMP,
# projector 4096-256 with predictor, T = 1.0, EMA 0.99 -> 1) plus the MixMask
# term on the first view against the momentum keys of the second. MixMask as
# in the MoCo v2 config. Neither paper ran this pairing: it is the proof that
# adding MixMask to a framework is a short class (MixMaskMoCoV3).
_base_ = [
    'mmpretrain::mocov3/mocov3_resnet50_8xb512-amp-coslr-100e_in1k.py',
    '../_base_/inference_224px.py',  # test pipeline for the inferencers
]
custom_imports = dict(imports=['mmsymmim'], allow_failed_imports=False)

model = dict(
    type='MixMaskMoCoV3',
    mix_loss_weight=1.0,
    head=dict(type='FastMoCoV3Head'),  # MoCoV3Head + per-sample weights
    mixmask=dict(grid_size=8, mask_ratio=0.5, mask_type='block',
                 partner='reverse', per_sample=True))

default_hooks = dict(loss_guard=dict(type='LossGuardHook', action='raise'))

# each process's random streams in every checkpoint, so that --resume (one
# process or several) continues exactly as the uninterrupted run would
custom_hooks = [dict(type='RNGStateHook')]
