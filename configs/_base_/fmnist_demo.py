# What the CPU demos share: Fashion-MNIST from Debian's `dataset-fashion-mnist`
# (60,000 train images used without labels, 32 px, grey replicated to 3
# channels), the runtime, and a weighted k-NN report (k = 20) of the frozen
# backbone before and after training, and the random streams in every
# checkpoint (RNGStateHook: exact --resume). A demo adds its model, its train
# pipeline (`train_dataloader.dataset.pipeline`), optimiser and schedule.
_base_ = 'mmpretrain::_base_/default_runtime.py'
custom_imports = dict(imports=['mmsymmim'], allow_failed_imports=False)

# Debian's dataset-fashion-mnist package
data_root = '/usr/share/datasets/fashion-mnist'
img_size = 32
batch_size = 128

data_preprocessor = dict(
    type='SelfSupDataPreprocessor',
    mean=[72.9, 72.9, 72.9],  # Fashion-MNIST train statistics, 0-255 scale
    std=[90.0, 90.0, 90.0],
    to_rgb=False)

# one augmented view; demos wrap it in MultiView
view_pipeline = [
    dict(type='RandomResizedCrop', scale=img_size,
         crop_ratio_range=(0.35, 1.)),
    dict(type='RandomFlip', prob=0.5),
]
train_dataloader = dict(
    batch_size=batch_size,
    num_workers=1,
    persistent_workers=True,
    drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type='FashionMNISTIDX',
        data_root=data_root,
        split='train',
        pipeline=[]))

knn_loader = dict(
    batch_size=500,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type='FashionMNISTIDX',
        data_root=data_root,
        split='train',
        indices=10000,  # memory bank: the first 10,000 train images
        pipeline=[
            dict(type='Resize', scale=(img_size, img_size)),
            dict(type='PackInputs'),
        ]))
# What mmpretrain's inferencers read (FeatureExtractor,
# ImageRetrievalInferencer: test_dataloader.dataset.pipeline; see
# docs/inference.md): short side to img_size, centre crop, so images of any
# size give the demo's input (the square Fashion-MNIST images get exactly the
# k-NN loader's Resize). Normalisation is the model's data_preprocessor.
# Training never reads these keys; test_cfg / test_evaluator only because
# mmengine's Runner takes the three test_* keys together: a pretraining
# model has no test step (its evaluation is the k-NN report below).
test_pipeline = [
    dict(type='ResizeEdge', scale=img_size, edge='short'),
    dict(type='CenterCrop', crop_size=img_size),
    dict(type='PackInputs'),
]
test_dataloader = dict(
    batch_size=500,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type='FashionMNISTIDX',
        data_root=data_root,
        split='test',
        pipeline=test_pipeline))
test_cfg = dict()
test_evaluator = []

custom_hooks = [
    dict(
        type='KNNEvalHook',
        bank_dataloader=knn_loader,
        test_dataloader=dict(
            knn_loader,
            dataset=dict(knn_loader['dataset'], split='test', indices=None)),
        num_classes=10,
        k=20,
        temperature=0.07),
    # each process's random streams in every checkpoint: --resume is exact
    dict(type='RNGStateHook'),
]
default_hooks = dict(
    loss_guard=dict(type='LossGuardHook', action='raise'),  # NaN/inf: stop
    logger=dict(type='LoggerHook', interval=10),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, max_keep_ckpts=1))
log_processor = dict(by_epoch=False)
env_cfg = dict(dist_cfg=dict(backend='gloo'))
randomness = dict(seed=0)
