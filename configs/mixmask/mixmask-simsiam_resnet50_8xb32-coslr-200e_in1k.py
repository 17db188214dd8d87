# MixMask on SimSiam, ResNet-50, ImageNet-1k, 200 epochs. Batch 256 =
# 8 GPUs x 32, SGD lr 0.05 with the predictor's lr fixed (mmpretrain's
# SimSiam recipe). MixMask as in the MoCo v2 config; our implementation of the
# term (no public code for SimSiam).
_base_ = [
    'mmpretrain::simsiam/simsiam_resnet50_8xb32-coslr-200e_in1k.py',
    '../_base_/inference_224px.py',  # test pipeline for the inferencers
]
custom_imports = dict(imports=['mmsymmim'], allow_failed_imports=False)

model = dict(
    type='MixMaskSimSiam',
    mix_loss_weight=1.0,
    # the parent's head + per-sample weights
    head=dict(type='WeightedLatentPredictHead'),
    mixmask=dict(grid_size=8, mask_ratio=0.5, mask_type='block',
                 partner='reverse', per_sample=True))

default_hooks = dict(loss_guard=dict(type='LossGuardHook', action='raise'))

# each process's random streams in every checkpoint, so that --resume (one
# process or several) continues exactly as the uninterrupted run would (the
# parent's SimSiamHook kept)
custom_hooks = [*_base_.custom_hooks, dict(type='RNGStateHook')]
