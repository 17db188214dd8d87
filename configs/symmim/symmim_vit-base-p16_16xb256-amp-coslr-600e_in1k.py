# SymMIM ViT-B/16 pretraining on ImageNet-1k, 600 epochs of one view order a
# step (symmetric=False): the compute of 300 symmetric epochs.
#
# Batch 4096 = 16 GPUs x 256 (auto_scale_lr scales lr from 4096 if you change
# it: --auto-scale-lr). AdamW lr 2.4e-3, weight decay 0.1, betas (0.9, 0.999),
# 40 warm-up epochs then cosine, AMP: all inherited from mmpretrain's MoCo v3
# ViT-B recipe (its 300 epochs doubled, see symmetric below), because the
# SymMIM paper does not publish its schedule and its contrastive branch is
# MoCo v3's (projector 4096-256, predictor, tau = 0.2,
# EMA momentum 0.99 -> 1 cosine). MoCo v3's head multiplies each InfoNCE term
# by loss_weight = 2 * tau = 0.4, so with con_loss_weight=1.0 each term acts
# with weight 0.4 against L_mim's 1.0. What SymMIM adds on top:
#   * online encoder views masked with the fine checkerboard (k = 1, 98 of 196
#     tokens), the EMA encoder's with 32-px blocks (k = 2) -- paper's setting;
#     phase='random' / ema_phase='random' (board drawn per image and view) is
#     our departure from the paper's printed fixed board: phase=0 and
#     ema_phase=0 give that board (README, SymMIM table);
#   * both encoders see only their visible tokens (encoder_input='visible';
#     the SimMIM-style mask-token encoder is the *_mask-token_* config: the
#     paper's public text does not say which its ViT does), and a
#     1-block, 128-wide MAE decoder predicts the masked pixels, L1 loss on
#     the masked patches only, weight 1, raw pixel targets (norm_target=False:
#     the per-channel normalised input, not MAE's per-patch normalised
#     pixels). The decoder is kept this light because the contrastive
#     branch, not the decoder, carries the global features, and MAE's
#     ablation (He et al. 2022, table 1a/1b) found fine-tuning insensitive to
#     decoder depth and width; with it a symmetric step costs 0.50x MoCo v3's
#     FLOPs, a one-order step 0.25x (docs/benchmarks.md). Raise
#     decoder_depth / decoder_embed_dim freely;
#   * the patch projection is trained (stop_grad_conv1=False): MIM needs it;
#   * symmetric=False: each step sends view 1 to the online encoder (L_mim,
#     query) and view 2 to the EMA encoder (key), one InfoNCE term, half the
#     FLOPs of the symmetric step (both orders, MoCo v3's loss). The paper
#     calls its setup "asymmetric MoCo-v3-style" without saying which; the
#     equal-FLOP study (docs/small_scale_study.md: tiny ViT, Fashion-MNIST,
#     3 seeds) found one order with twice the steps beat both orders on
#     k-NN, linear probe and 1 %-label fine-tuning, so the default is one
#     order at twice MoCo v3's epochs (600: the compute of 300 symmetric
#     ones). Not measured at ImageNet scale. Same FLOPs, not same cost
#     everywhere: the loader still decodes and augments both views every
#     step, so 600 epochs are twice the data work of 300 (more workers, or
#     the *_device-aug_* configs), and the 40 warm-up epochs are now 7 % of
#     the run (MoCo v3's 13 %). MoCo v3's symmetric recipe:
#     --cfg-options model.symmetric=True train_cfg.max_epochs=300
#     param_scheduler.1.end=300 param_scheduler.1.T_max=260
# Single node:
#   bash tools/dist_train.sh \
#       configs/symmim/symmim_vit-base-p16_16xb256-amp-coslr-600e_in1k.py 8
_base_ = [
    'mmpretrain::mocov3/mocov3_vit-base-p16_16xb256-amp-coslr-300e_in1k.py',
    '../_base_/inference_224px.py',  # test pipeline for the inferencers
]
custom_imports = dict(imports=['mmsymmim'], allow_failed_imports=False)

img_size = 224
patch_size = 16
embed_dims = 768

train_pipeline = [
    # a bad image stops the run naming its path; on_error='skip' skips it
    dict(type='SafeLoadImageFromFile', on_error='raise'),
    dict(
        type='MultiView',
        num_views=[1, 1],
        transforms=[{{_base_.view_pipeline1}}, {{_base_.view_pipeline2}}]),
    dict(
        type='SymmetricMaskGenerator',
        input_size=img_size,
        model_patch_size=patch_size,
        scale=1,
        phase='random',
        ema_scale=2,
        ema_phase='random'),
    dict(type='PackInputs', algorithm_keys=['ema_mask']),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))

model = dict(
    type='SymMIM',
    encoder_input='visible',
    mim_loss_weight=1.0,
    con_loss_weight=1.0,
    symmetric=False,  # one view order a step (header)
    ema_masked=True,
    norm_target=False,
    # out_type='raw': extract_feat (FeatureExtractor, k-NN) gives the class
    # token and the patch tokens after the final norm; training never reads it
    backbone=dict(type='SymMIMViT', stop_grad_conv1=False,
                  use_mask_token=False, out_type='raw'),
    # MoCoV3Head's math with the labels made on the device (no host sync)
    head=dict(type='FastMoCoV3Head'),
    mim_neck=dict(
        type='SymMIMDecoder',
        num_patches=(img_size // patch_size)**2,
        patch_size=patch_size,
        embed_dim=embed_dims,
        decoder_embed_dim=128,
        decoder_depth=1,
        decoder_num_heads=4),
    mim_head=dict(
        type='MAEPretrainHead',
        patch_size=patch_size,
        loss=dict(type='PixelReconstructionLoss', criterion='L1')))

optim_wrapper = dict(
    paramwise_cfg=dict(
        norm_decay_mult=0.0,
        bias_decay_mult=0.0,
        custom_keys={
            'mask_token': dict(decay_mult=0.),  # encoder's or decoder's
            'cls_token': dict(decay_mult=0.),
        }))
# every online parameter gets a gradient from both losses
find_unused_parameters = False

# NaN/inf loss: stop with the iteration and term; `...loss_guard.action=skip`
default_hooks = dict(loss_guard=dict(type='LossGuardHook', action='raise'))

# each process's random streams in every checkpoint, so that --resume (one
# process or several) continues exactly as the uninterrupted run would
custom_hooks = [dict(type='RNGStateHook')]

# 600 epochs of one view order (the compute of MoCo v3's 300 symmetric ones):
# MoCo v3's 40 warm-up epochs, then cosine to the end
max_epochs = 600
train_cfg = dict(max_epochs=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-4, by_epoch=True, begin=0, end=40,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - 40, by_epoch=True,
         begin=40, end=max_epochs, convert_to_iter_based=True),
]
