"""mmpretrain's ``SelfSupDataPreprocessor`` plus a view augmentation.

The loader delivers uint8 views that were only decoded and cropped; in
training this preprocessor moves them to the device, swaps BGR to RGB (as
the parent does), applies ``view_aug`` (a ``BATCH_AUGMENTS`` config, e.g.
``DeviceViewAugment``) per view on the 0-255 batch, then normalises. Outside
training (k-NN, visualisation) it is the parent unchanged.
"""
from typing import Union

import torch

from mmpretrain.models.utils.data_preprocessor import SelfSupDataPreprocessor
from mmpretrain.registry import BATCH_AUGMENTS, MODELS


@MODELS.register_module()
class ViewAugDataPreprocessor(SelfSupDataPreprocessor):
    """Args: ``view_aug`` (dict | callable): the augment, called with the
    list of ``(B, 3, H, W)`` RGB 0-255 float views; the other arguments are
    ``SelfSupDataPreprocessor``'s."""

    def __init__(self, view_aug: Union[dict, callable], **kwargs) -> None:
        super().__init__(**kwargs)
        if isinstance(view_aug, dict):
            view_aug = BATCH_AUGMENTS.build(view_aug)
        if not callable(view_aug):
            raise TypeError('ViewAugDataPreprocessor: view_aug must be a '
                            'BATCH_AUGMENTS config dict or a callable, got '
                            f'{type(view_aug).__name__}')
        self.view_aug = view_aug

    def forward(self, data: dict, training: bool = False) -> dict:
        if not training:
            return super().forward(data, training)
        if not isinstance(data, dict):
            raise TypeError('ViewAugDataPreprocessor: expects a dict batch '
                            '(default_collate)')
        inputs, data_samples = self.cast_data(list(data.values()))
        single = isinstance(inputs, torch.Tensor)
        views = [inputs] if single else list(inputs)
        if self._channel_conversion:
            views = [v[:, [2, 1, 0], ...] for v in views]
        views = self.view_aug([v.float() for v in views])
        if self._enable_normalize:
            views = [(v - self.mean) / self.std for v in views]
        return {
            'inputs': views[0] if single else views,
            'data_samples': data_samples
        }
