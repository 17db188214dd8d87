# MixMask on BYOL, ResNet-50, ImageNet-1k, 200 epochs. Batch 4096 =
# 16 GPUs x 256, LARS lr 4.8, weight decay 1e-6, target momentum 0.99 -> 1
# (mmpretrain's BYOL recipe). MixMask as in the MoCo v2 config (grid 8,
# ratio 0.5, block mask, per-sample lambda). The paper reports BYOL results
# but its public code covers MoCo only: this term is our implementation.
_base_ = [
    'mmpretrain::byol/byol_resnet50_16xb256-coslr-200e_in1k.py',
    '../_base_/inference_224px.py',  # test pipeline for the inferencers
]
custom_imports = dict(imports=['mmsymmim'], allow_failed_imports=False)

model = dict(
    type='MixMaskBYOL',
    mix_loss_weight=1.0,
    # the parent's head + per-sample weights
    head=dict(type='WeightedLatentPredictHead'),
    mixmask=dict(grid_size=8, mask_ratio=0.5, mask_type='block',
                 partner='reverse', per_sample=True))

default_hooks = dict(loss_guard=dict(type='LossGuardHook', action='raise'))

# each process's random streams in every checkpoint, so that --resume (one
# process or several) continues exactly as the uninterrupted run would
custom_hooks = [dict(type='RNGStateHook')]
