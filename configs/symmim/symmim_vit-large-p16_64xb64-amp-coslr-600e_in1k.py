# SymMIM ViT-L/16 on ImageNet-1k, 600 one-order epochs (symmetric=False and
# the schedule of the ViT-B config; the paper's 85.9 % top-1 model is a ViT-L;
# its pretraining length is not published). Batch 4096 =
# 64 GPUs x 64, as MoCo v3's ViT-L recipe; AdamW lr 2.4e-3, wd 0.1, AMP, and
# that recipe's gradient clipping (max norm 5.0), which the ViT-B recipe has
# not.
_base_ = './symmim_vit-base-p16_16xb256-amp-coslr-600e_in1k.py'

embed_dims = 1024
train_dataloader = dict(batch_size=64)
model = dict(
    backbone=dict(arch='large'),
    neck=dict(in_channels=embed_dims),
    mim_neck=dict(embed_dim=embed_dims))
optim_wrapper = dict(clip_grad=dict(max_norm=5.0, error_if_nonfinite=False))
