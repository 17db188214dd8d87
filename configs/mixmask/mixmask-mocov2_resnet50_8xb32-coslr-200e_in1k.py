# MixMask on MoCo v2, ResNet-50, ImageNet-1k, 200 epochs: the published
# setting. Batch 256 = 8 GPUs x 32, SGD lr 0.03 momentum 0.9, weight decay
# 1e-4, cosine; queue 65536, key-encoder momentum 0.999 (mmengine's 0.001),
# T = 0.2, MLP head 2048-2048-128 -- all inherited from mmpretrain's MoCo v2.
# MixMask: 8 x 8 grid, block mask, fill ratio 0.5, partner = reversed batch.
# Differs from the published code in one default: one mask and lambda per
# image (per_sample=True); set per_sample=False for one per batch.
_base_ = [
    'mmpretrain::mocov2/mocov2_resnet50_8xb32-coslr-200e_in1k.py',
    '../_base_/inference_224px.py',  # test pipeline for the inferencers
]
custom_imports = dict(imports=['mmsymmim'], allow_failed_imports=False)

model = dict(
    type='MixMaskMoCo',
    mix_loss_weight=1.0,
    # the parent's head + per-sample weights
    head=dict(type='WeightedContrastiveHead'),
    mixmask=dict(
        grid_size=8,
        mask_ratio=0.5,
        mask_type='block',
        partner='reverse',
        per_sample=True))

default_hooks = dict(loss_guard=dict(type='LossGuardHook', action='raise'))

# each process's random streams in every checkpoint, so that --resume (one
# process or several) continues exactly as the uninterrupted run would
custom_hooks = [dict(type='RNGStateHook')]
