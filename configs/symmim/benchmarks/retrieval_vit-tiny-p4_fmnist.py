# Image retrieval with the CPU demo's encoder
# (symmim_vit-tiny-p4_1xb128-400i_fmnist.py):
# mmpretrain's ImageToImageRetriever (as BackboneRetriever, which loads the
# pretraining checkpoint's backbone.* weights) ranks a prototype collection by
# cosine similarity of the class token, through mmpretrain's inferencer:
#   from mmpretrain.apis import ImageRetrievalInferencer
#   inferencer = ImageRetrievalInferencer(
#       'configs/symmim/benchmarks/retrieval_vit-tiny-p4_fmnist.py',
#       prototype='path/to/images/', pretrained='work_dirs/demo/iter_400.pth')
#   inferencer('query.png', topk=5)[0]
#   # [{'match_score', 'sample_idx', 'sample': {'img_path'}}, ...]
# Test pipeline and normalisation: the demo's (configs/_base_/fmnist_demo.py).
# The model's own prototype (what a model built from this config searches;
# the inferencer replaces it with its `prototype`): the demo's k-NN bank, the
# first 10,000 train images.
_base_ = '../symmim_vit-tiny-p4_1xb128-400i_fmnist.py'

model = dict(
    _delete_=True,
    type='BackboneRetriever',
    image_encoder=[dict(_base_.model.backbone, out_type='cls_token')],
    data_preprocessor=dict(
        type='ClsDataPreprocessor',
        mean=_base_.data_preprocessor.mean,
        std=_base_.data_preprocessor.std,
        to_rgb=_base_.data_preprocessor.to_rgb),
    prototype=dict(
        _base_.knn_loader,
        dataset=dict(_base_.knn_loader.dataset,
                     pipeline=_base_.test_pipeline)),
    topk=-1)

# retrieval only: no training
train_dataloader = train_cfg = optim_wrapper = param_scheduler = None
custom_hooks = []
