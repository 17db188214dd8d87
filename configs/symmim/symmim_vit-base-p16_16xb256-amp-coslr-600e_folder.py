# SymMIM ViT-B/16 on a folder of your own unlabeled images: the ImageNet
# recipe of symmim_vit-base-p16_16xb256-amp-coslr-600e_in1k.py (model, views,
# masks, optimiser, 600-epoch one-order schedule for batch 4096) with
# mmpretrain's CustomDataset(with_label=False): every
# .jpg/.jpeg/.png/.ppm/.bmp/.pgm/.tif under `data_root`, sub-folders
# included, no labels or file list needed.
# A file that fails to decode is skipped with a warning naming it; a missing
# or empty folder stops tools/train.py with one line, before the model is
# built. Epochs count passes over your folder: shorten `train_cfg.max_epochs`
# (and the warm-up) for a small one, or use --auto-scale-lr with fewer GPUs.
#   CONFIG=configs/symmim/symmim_vit-base-p16_16xb256-amp-coslr-600e_folder.py
#   bash tools/dist_train.sh $CONFIG 8 \
#       --cfg-options train_dataloader.dataset.data_root=/path/to/images
_base_ = './symmim_vit-base-p16_16xb256-amp-coslr-600e_in1k.py'

data_root = 'data/images'
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='CustomDataset',
        data_root=data_root,
        with_label=False,
        # the in1k pipeline with bad files skipped instead of fatal
        pipeline=[
            dict(type='SafeLoadImageFromFile', on_error='skip'),
            *_base_.train_pipeline[1:]
        ]))
