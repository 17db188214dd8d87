# CPU demo on your own images: the Fashion-MNIST SymMIM demo
# (symmim_vit-tiny-p4_1xb128-400i_fmnist.py: ViT width 128, depth 4, patch 4
# at 32 px, 400 iterations) fed with every image under `data_root` (mmpretrain
# CustomDataset, with_label=False, sub-folders included), ImageNet colour
# statistics, and reconstructions of your images written to
# work_dir/vis/iter_*.png every 50 iterations, nearest neighbours among your
# first 1,000 images in work_dir/vis/neighbours_iter_*.png every 100. No
# labels, so no k-NN report.
# Unreadable files are skipped with a warning naming them.
#   .venv/bin/python tools/train.py \
#       configs/symmim/symmim_vit-tiny-p4_1xb128-400i_folder.py \
#       --cfg-options train_dataloader.dataset.data_root=/path/to/images
_base_ = './symmim_vit-tiny-p4_1xb128-400i_fmnist.py'

data_root = 'data/images'
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='CustomDataset',
        data_root=data_root,
        with_label=False,
        pipeline=[
            dict(type='SafeLoadImageFromFile', on_error='skip'),
            *_base_.train_pipeline
        ]))
model = dict(
    data_preprocessor=dict(
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        to_rgb=True))
custom_hooks = [
    dict(type='ReconstructionVisHook', interval=50),
    # nearest neighbours among your first 1,000 images, every 100 iterations
    dict(type='NeighboursVisHook', interval=100),
    # exact --resume (configs/_base_/fmnist_demo.py)
    dict(type='RNGStateHook'),
]
