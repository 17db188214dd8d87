# Alias: the short name the design documents use
# (python tools/train.py configs/symmim_vit-b.py) for the SymMIM ViT-B/16
# ImageNet-1k config
# configs/symmim/symmim_vit-base-p16_16xb256-amp-coslr-600e_in1k.py,
# inherited whole and unchanged (tests/test_config_sweep.py checks that the
# merged configs are equal). Read that file for what it trains and why.
_base_ = './symmim/symmim_vit-base-p16_16xb256-amp-coslr-600e_in1k.py'
