"""SyncBatchNorm for CPU processes (gloo).

torch's ``nn.SyncBatchNorm`` refuses CPU tensors, yet MoCo v3 / SymMIM
projectors use SyncBN (mmpretrain's ``NonLinearNeck``). Distributed runs on
CPU (``tools/dist_train.sh`` with gloo, the DDP tests) swap their SyncBN layers
for this class (see ``mmsymmim/compat/cpu_distributed.py``): same parameters
and buffers, batch statistics summed over ranks with a differentiable
all_reduce, i.e. the statistics of one process seeing the global batch.
"""
import torch
from torch.nn.modules.batchnorm import _BatchNorm


class GlooSyncBatchNorm(_BatchNorm):
    """SyncBatchNorm for CPU tensors: batch statistics summed over ranks."""

    def _check_input_dim(self, input: torch.Tensor) -> None:
        if input.dim() < 2:
            raise ValueError(f'expected at least 2D input, got {input.dim()}D')

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        import torch.distributed as dist
        if not (self.training and dist.is_initialized()
                and dist.get_world_size() > 1):
            return super().forward(x)
        from torch.distributed.nn.functional import all_reduce
        C = x.shape[1]
        dims = [0] + list(range(2, x.dim()))
        count = x.new_full((1, ), x.numel() // C)
        stats = torch.cat([x.sum(dims), (x * x).sum(dims), count])
        stats = all_reduce(stats, group=getattr(self, 'process_group', None)
                           or dist.group.WORLD)
        n = stats[-1]
        mean = stats[:C] / n
        var = (stats[C:2 * C] / n - mean * mean).clamp(min=0)
        if self.track_running_stats:
            with torch.no_grad():
                self.num_batches_tracked.add_(1)
                m = (1.0 / float(self.num_batches_tracked)
                     if self.momentum is None else self.momentum)
                self.running_mean.mul_(1 - m).add_(mean.detach(), alpha=m)
                self.running_var.mul_(1 - m).add_(
                    var.detach() * n / (n - 1).clamp(min=1), alpha=m)
        shape = [1, C] + [1] * (x.dim() - 2)
        y = (x - mean.view(shape)) * torch.rsqrt(var.view(shape) + self.eps)
        if self.affine:
            y = y * self.weight.view(shape) + self.bias.view(shape)
        return y
