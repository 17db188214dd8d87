# SymMIM ViT-S/16 (MoCo v3's 'mocov3-small': 384 dims, 12 heads) on
# ImageNet-1k, 300 epochs. Batch 4096 = 16 GPUs x 256; everything else as
# configs/symmim_vit-b.py (MoCo v3 schedule, AdamW lr 2.4e-3, wd 0.1, AMP).
_base_ = './symmim_vit-b.py'

embed_dims = 384
model = dict(
    backbone=dict(arch='mocov3-small'),
    neck=dict(in_channels=embed_dims),
    mim_neck=dict(in_channels=embed_dims))
