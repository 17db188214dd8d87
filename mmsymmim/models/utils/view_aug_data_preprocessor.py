"""mmpretrain's ``SelfSupDataPreprocessor`` plus a view augmentation.

The loader delivers uint8 views that were only decoded and cropped; in
training this preprocessor moves them to the device, swaps BGR to RGB (as
the parent does), applies ``view_aug`` (a ``BATCH_AUGMENTS`` config, e.g.
``DeviceViewAugment``) per view on the 0-255 batch, then normalises. Outside
training (k-NN, visualisation) it is the parent unchanged.

Random stream: the augment draws its parameters from its own CPU RNG stream,
seeded once from ``torch.initial_seed()`` and the rank. mmengine gives every
rank the same seed, so drawing from the global stream would give image i of
every rank the same jitter, blur and flip; the CPU pipeline's loader workers
are seeded per rank and worker, and this keeps that property. The stream is
also independent of what the model draws (masks, dropout).
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
        self._rng_state = None  # this rank's stream, made on first use

    def _augment(self, views):
        """``view_aug(views)`` on this rank's own CPU random stream."""
        if self._rng_state is None:
            from mmengine.dist import get_rank
            seed = (torch.initial_seed() + 1_000_003 * get_rank()) % 2**63
            self._rng_state = torch.Generator().manual_seed(seed).get_state()
        with torch.random.fork_rng(devices=[]):
            torch.set_rng_state(self._rng_state)
            views = self.view_aug(views)
            self._rng_state = torch.get_rng_state()
        return views

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
        views = self._augment([v.float() for v in views])
        if self._enable_normalize:
            views = [(v - self.mean) / self.std for v in views]
        return {
            'inputs': views[0] if single else views,
            'data_samples': data_samples
        }
