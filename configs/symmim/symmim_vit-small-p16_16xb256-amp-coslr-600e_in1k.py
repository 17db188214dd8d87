# SymMIM ViT-S/16 (MoCo v3's 'mocov3-small': 384 dims, 12 heads) on
# ImageNet-1k, 600 one-order epochs. Batch 4096 = 16 GPUs x 256; everything
# else as the ViT-B config (symmetric=False, MoCo v3's recipe at twice its
# epochs, AdamW lr 2.4e-3, wd 0.1, AMP, visible tokens with a 1-block
# decoder of width 128).
_base_ = './symmim_vit-base-p16_16xb256-amp-coslr-600e_in1k.py'

embed_dims = 384
model = dict(
    backbone=dict(arch='mocov3-small'),
    neck=dict(in_channels=embed_dims),
    mim_neck=dict(embed_dim=embed_dims))
