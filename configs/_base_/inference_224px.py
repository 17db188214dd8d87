# What mmpretrain's inferencers read from a pretraining config
# (FeatureExtractor, ImageRetrievalInferencer:
# test_dataloader.dataset.pipeline; see docs/inference.md): mmpretrain's
# ImageNet test pipeline at 224 px (short side to 256, centre crop 224) for
# images of any size; normalisation is the
# model's data_preprocessor, as in training. The inferencers drop
# LoadImageFromFile (they load the files themselves). Training never reads
# these keys.
# test_cfg and test_evaluator are here only because mmengine's Runner takes
# the three test_* keys together or not at all: a pretraining model has no
# test step (runner.test() is not supported); its evaluation is the k-NN /
# linear probe of tools/analysis_tools/knn_eval.py.
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=256, edge='short'),
    dict(type='CenterCrop', crop_size=224),
    dict(type='PackInputs'),
]
test_dataloader = dict(
    batch_size=64,
    num_workers=4,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type='ImageNet',
        data_root='data/imagenet',
        split='val',
        pipeline=test_pipeline))
test_cfg = dict()
test_evaluator = []
