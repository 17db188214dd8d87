"""Distributed training on CPU (torchrun + gloo).

Why: ``tools/dist_train.sh`` could not run without GPUs (CPU clusters, CI, the
DDP tests), for three reasons in mmengine 0.10.7 / torch 2.15:

* ``init_dist('pytorch')`` calls torch.cuda.set_device unconditionally
  ("Found no NVIDIA driver");
* the Runner wraps the model in DDP with device_ids=[LOCAL_RANK], which torch
  rejects for CPU modules;
* torch's DDP and SyncBatchNorm refuse CPU SyncBatchNorm layers, and the
  MoCo v3 / SymMIM projectors use SyncBN (mmpretrain's NonLinearNeck).

Without CUDA: the process group starts without set_device (nccl is refused
with a clear error), CPU modules get device_ids=None, and their SyncBN layers
become :class:`GlooSyncBatchNorm`. GPU runs are untouched.
Drop when mmengine and torch handle CPU launches.
"""
import mmengine.dist.utils as _dist_utils
import torch
from mmengine.model.wrappers import MMDistributedDataParallel as _MMDDP

from ..models.utils.gloo_sync_batchnorm import GlooSyncBatchNorm

_init_dist_pytorch = _dist_utils._init_dist_pytorch


def _init_dist_pytorch_any_device(backend, init_backend='torch', **kwargs):
    if torch.cuda.is_available() or init_backend != 'torch':
        return _init_dist_pytorch(backend, init_backend, **kwargs)
    if backend == 'nccl':
        raise RuntimeError(
            'distributed training without GPUs needs the gloo backend: set '
            '--cfg-options env_cfg.dist_cfg.backend=gloo')
    torch.distributed.init_process_group(backend=backend, **kwargs)


_dist_utils._init_dist_pytorch = _init_dist_pytorch_any_device
_mmddp_init = _MMDDP.__init__


def _mmddp_init_any_device(self, module, *args, **kwargs):
    params = list(module.parameters())
    if params and params[0].device.type == 'cpu':
        kwargs.pop('device_ids', None)
        kwargs.pop('output_device', None)
        for layer in module.modules():
            if isinstance(layer, torch.nn.SyncBatchNorm):
                layer.__class__ = GlooSyncBatchNorm  # same params / buffers
    _mmddp_init(self, module, *args, **kwargs)


_MMDDP.__init__ = _mmddp_init_any_device
