"""Layer-wise lr decay for detectors and segmentors with a ViT backbone."""
from functools import partial

from mmengine.registry import OPTIM_WRAPPER_CONSTRUCTORS

from mmpretrain.engine.optimizers import (
    LearningRateDecayOptimWrapperConstructor,
)


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class BackboneLayerDecayOptimWrapperConstructor(
        LearningRateDecayOptimWrapperConstructor):
    """mmpretrain's layer-wise lr decay, with depths from ``model.backbone``.

    mmpretrain's constructor asks the whole model for ``get_layer_depth``,
    which mmdet's and mmseg's models do not have; their ViT backbones
    (mmpretrain's ``VisionTransformer`` and :class:`ViTDetBackbone`) do. Block
    i gets ``lr * layer_decay_rate ** (num_layers - i)``; the patch embedding
    the smallest lr, necks and heads the full lr. Registered in mmengine's
    root registry, so mmdet and mmseg configs find it by name.
    """

    def add_params(self, params, module, prefix='', get_layer_depth=None,
                   **kwargs) -> None:
        if get_layer_depth is None and prefix == '':
            backbone = getattr(module, 'backbone', None)
            if not hasattr(backbone, 'get_layer_depth'):
                raise TypeError(
                    f'{type(self).__name__} needs model.backbone with '
                    f'get_layer_depth (a ViT), got {type(backbone).__name__}')
            get_layer_depth = partial(
                backbone.get_layer_depth, prefix='backbone.')
        super().add_params(params, module, prefix, get_layer_depth, **kwargs)
