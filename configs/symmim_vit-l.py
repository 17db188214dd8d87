# Alias: the short name the design documents use
# (python tools/train.py configs/symmim_vit-l.py) for the SymMIM ViT-L/16
# ImageNet-1k config
# configs/symmim/symmim_vit-large-p16_64xb64-amp-coslr-600e_in1k.py,
# inherited whole and unchanged (tests/test_config_sweep.py checks that the
# merged configs are equal). Read that file for what it trains and why.
_base_ = './symmim/symmim_vit-large-p16_64xb64-amp-coslr-600e_in1k.py'
