"""mmpretrain's cosine-momentum EMA with one fused update and no host sync."""
import math

import torch
import torch.nn as nn
from mmengine.logging import MessageHub

from mmpretrain.models.utils import CosineEMA
from mmpretrain.registry import MODELS


@MODELS.register_module()
class ForeachCosineEMA(CosineEMA):
    """Same math and state dict as :class:`mmpretrain.models.CosineEMA`.

    ``theta_ema <- theta_ema + mom * (theta - theta_ema)`` with
    ``mom = end - (end - base) * (cos(pi * k / K) + 1) / 2`` (mmengine's
    convention: ``mom`` = 1 - m), applied to all parameters at once with
    ``torch._foreach_lerp_``. The step count is mirrored in a Python int, so
    an update reads nothing back from the device (mmengine's version compares
    the ``steps`` buffer, a host sync on GPU, and loops over parameters).
    """

    def __init__(self, model: nn.Module, *args, **kwargs) -> None:
        super().__init__(model, *args, **kwargs)
        self._steps = 0
        self.register_load_state_dict_post_hook(self._sync_steps)

    @staticmethod
    def _sync_steps(module, incompatible_keys) -> None:
        module._steps = int(module.steps)  # once, when a checkpoint loads

    def momentum_at(self, steps: int) -> float:
        max_iters = MessageHub.get_current_instance().get_info('max_iters')
        cosine = (math.cos(math.pi * steps / float(max_iters)) + 1) / 2
        return self.end_momentum - (self.end_momentum -
                                    self.momentum) * cosine

    @torch.no_grad()
    def update_parameters(self, model: nn.Module) -> None:
        src = (model.state_dict()
               if self.update_buffers else dict(model.named_parameters()))
        names = [k for k, p in self.avg_parameters.items()
                 if p.dtype.is_floating_point]
        avg = [self.avg_parameters[k].data for k in names]
        new = [src[k].data.to(a.device) for k, a in zip(names, avg)]
        if self._steps == 0:
            torch._foreach_copy_(avg, new)
        elif self._steps % self.interval == 0:
            torch._foreach_lerp_(avg, new, self.momentum_at(self._steps))
        if not self.update_buffers:
            torch._foreach_copy_(
                [b.data for b in self.module.buffers()],
                [b.data.to(d.device) for b, d in zip(model.buffers(),
                                                     self.module.buffers())])
        self.steps.add_(1)
        self._steps += 1
