# The CPU demo (symmim_vit-tiny-p4_1xb128-400i_fmnist.py) with its view
# recipe split as the *_device-aug_* ImageNet configs split theirs: the
# loader worker decodes, crops (RandomResizedCrop per view) and draws the
# masks; ViewAugDataPreprocessor + DeviceViewAugment apply the rest of the
# demo's view pipeline (a horizontal flip, p = 0.5) to the collated batch.
# Same model, schedule and k-NN report, so the two runs compare the pipelines.
_base_ = './symmim_vit-tiny-p4_1xb128-400i_fmnist.py'

train_pipeline = [
    dict(type='MultiView', num_views=2,
         transforms=[[_base_.view_pipeline[0]]]),
    *_base_.train_pipeline[1:],  # SymmetricMaskGenerator, PackInputs
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))

model = dict(
    data_preprocessor=dict(
        type='ViewAugDataPreprocessor',
        view_aug=dict(
            type='DeviceViewAugment',
            views=[_base_.view_pipeline[1:], _base_.view_pipeline[1:]])))
