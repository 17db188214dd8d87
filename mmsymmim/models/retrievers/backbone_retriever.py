"""mmpretrain's ImageToImageRetriever fed with a pretraining checkpoint."""
import torch.nn as nn

from mmpretrain.models.retrievers import ImageToImageRetriever
from mmpretrain.registry import MODELS


@MODELS.register_module()
class BackboneRetriever(ImageToImageRetriever):
    """:class:`ImageToImageRetriever` whose ``image_encoder`` loads the
    ``backbone.*`` weights of a SymMIM / MixMask (any mmpretrain
    self-supervised) checkpoint, so mmpretrain's ImageRetrievalInferencer
    takes the pretraining checkpoint as it is::

        ImageRetrievalInferencer(RETRIEVAL_CONFIG, prototype='images/',
                                 pretrained='work_dirs/demo/iter_400.pth')

    ``image_encoder`` is the pretraining config's backbone giving one vector
    per image (ViT ``out_type='cls_token'``; ResNet followed by
    ``GlobalAveragePooling``), first in the list. On load, a state dict with
    ``backbone.*`` keys has them renamed to the encoder's and its other
    parts (projector, heads, momentum encoder, decoder) dropped
    (:meth:`remap_state_dict`, which mmsymmim's checkpoint guard also
    applies before it checks that the file fits); a retriever's own state
    dict loads unchanged. Everything else is ImageToImageRetriever's
    (cosine similarity, ``topk``, prototype).
    """

    def remap_state_dict(self, state_dict: dict, prefix: str = '') -> dict:
        """``state_dict`` with a pretraining checkpoint's ``backbone.*``
        keys (under ``prefix``) renamed to ``image_encoder``'s and the rest
        under ``prefix`` dropped; any other state dict as it is."""
        src = prefix + 'backbone.'
        if not any(k.startswith(src) for k in state_dict):
            return state_dict
        dst = prefix + ('image_encoder.0.' if isinstance(
            self.image_encoder, nn.Sequential) else 'image_encoder.')
        return type(state_dict)(
            (dst + k[len(src):] if k.startswith(src) else k, v)
            for k, v in state_dict.items()
            if k.startswith(src) or not k.startswith(prefix))

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # torch's load_state_dict: rename in place, before the children load
        mapped = self.remap_state_dict(state_dict, prefix)
        if mapped is not state_dict:
            state_dict.clear()
            state_dict.update(mapped)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
