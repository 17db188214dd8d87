"""BatchNorm whose training statistics come from groups of the batch: one
process normalising as ``num_splits`` GPUs would.

MoCo (v1 / v2) needs "shuffle BN": keys are shuffled across GPUs before the
key encoder, so a query and its positive key are never normalised with the
same batch statistics; otherwise the model can single out the positive among
the queue's keys by the statistics alone and learns little (MoCo, He et al.
2020, sec. 3.3). On one process mmpretrain's ``batch_shuffle_ddp`` only
permutes the batch, which changes nothing for one BatchNorm over all of it.
With this norm in the encoders (and that permutation), each group of keys is
normalised with the statistics of another random subset of images than its
queries, as across GPUs.

Training: sample ``n`` of a ``(N, C, H, W)`` batch is in group ``n %
num_splits``; each group is normalised with its own mean and variance; the
running statistics move towards the mean of the groups'. Evaluation: plain
BatchNorm with the running statistics. Same parameters, buffers and state-dict
keys as ``nn.BatchNorm2d``, so checkpoints load into a plain-BN backbone.
"""
import torch
import torch.nn.functional as F
from torch import nn

from mmpretrain.registry import MODELS


@MODELS.register_module()
class SplitBatchNorm(nn.BatchNorm2d):
    """``nn.BatchNorm2d`` with per-group training statistics.

    Args:
        num_features (int): channels C.
        num_splits (int): groups of the batch (the batch size must divide
            by it). 1 is plain BatchNorm. Defaults to 8.
        **kwargs: ``nn.BatchNorm2d``'s (eps, momentum, affine, ...).
    """

    def __init__(self, num_features: int, num_splits: int = 8,
                 **kwargs) -> None:
        super().__init__(num_features, **kwargs)
        if not isinstance(num_splits, int) or isinstance(num_splits, bool) \
                or num_splits < 1:
            raise ValueError(f'SplitBatchNorm: `num_splits` must be a '
                             f'positive int, got {num_splits!r}')
        self.num_splits = num_splits

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        S = self.num_splits
        if not self.training or S == 1:
            return super().forward(x)
        self._check_input_dim(x)
        N, C = x.shape[:2]
        if N % S:
            raise ValueError(f'SplitBatchNorm: a batch of {N} does not split '
                             f'into `num_splits`={S} groups; use a batch '
                             f'size divisible by {S}')
        factor = 0.
        if self.track_running_stats:
            self.num_batches_tracked.add_(1)
            factor = (1. / float(self.num_batches_tracked)
                      if self.momentum is None else self.momentum)
        tracked = self.running_mean is not None
        mean = self.running_mean.repeat(S) if tracked else None
        var = self.running_var.repeat(S) if tracked else None
        weight = self.weight.repeat(S) if self.affine else None
        bias = self.bias.repeat(S) if self.affine else None
        # (N, C, ...) -> (N / S, S * C, ...): channel s * C + c holds channel
        # c of the samples n with n % S == s
        y = F.batch_norm(x.reshape(N // S, S * C, *x.shape[2:]), mean, var,
                         weight, bias, True, factor, self.eps)
        if tracked:
            with torch.no_grad():
                self.running_mean.copy_(mean.view(S, C).mean(0))
                self.running_var.copy_(var.view(S, C).mean(0))
        return y.reshape(x.shape)
