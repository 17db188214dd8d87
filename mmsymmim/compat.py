"""The one place for run-time workarounds to the upstream OpenMMLab stack.

Install-time workarounds (mmcv's C++20 build flag, pins) live in
``tools/setup.sh``. Each fix here says why it exists and when to drop it.
Imported first by ``import mmsymmim``.
"""
import os
import os.path as osp
import tempfile

import mmengine
import mmengine.runner.checkpoint as _checkpoint
import numpy as np
import torch
from mmengine.fileio.backends.local_backend import LocalBackend
from mmengine.logging import HistoryBuffer, MessageHub

_BUFFER_TAG = '__mmsymmim_history_buffer__'


# --- 1. Resume under torch's weights_only=True default -----------------------
# Why: torch >= 2.6 loads checkpoints with weights_only=True. mmengine 0.10.7
# saves the message hub as HistoryBuffer objects holding NumPy arrays, so
# `Runner(resume=True)` dies ("Unsupported global: HistoryBuffer"), and
# allow-listing fails further on NumPy 2's pickles (mmengine issue 1655).
# Fix: the message hub's state is written as tensors and plain Python values,
# and read back into HistoryBuffers, so every checkpoint mmsymmim writes loads
# with weights_only=True; loading is untouched (user files stay safe).
# Drop when mmengine releases its fix (after 0.10.7).
def _to_plain(value):
    """NumPy values to tensors / Python scalars, recursively."""
    if isinstance(value, HistoryBuffer):
        return {
            _BUFFER_TAG: True,
            'log': torch.from_numpy(
                np.asarray(value._log_history, dtype=np.float64)),
            'count': torch.from_numpy(
                np.asarray(value._count_history, dtype=np.int64)),
            'max_length': int(value.max_length),
        }
    if isinstance(value, np.ndarray):
        return torch.from_numpy(np.ascontiguousarray(value))
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return type(value)((k, _to_plain(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return type(value)(_to_plain(v) for v in value)
    return value


def _from_plain(value):
    """Inverse of :func:`_to_plain` for history buffers."""
    if isinstance(value, dict) and value.get(_BUFFER_TAG):
        return HistoryBuffer(value['log'].tolist(), value['count'].tolist(),
                             value['max_length'])
    if isinstance(value, dict):
        return type(value)((k, _from_plain(v)) for k, v in value.items())
    return value


_hub_state_dict = MessageHub.state_dict
_hub_load_state_dict = MessageHub.load_state_dict


def _plain_state_dict(self) -> dict:
    return _to_plain(_hub_state_dict(self))


def _plain_load_state_dict(self, state_dict) -> None:
    if isinstance(state_dict, dict):
        state_dict = dict(state_dict)
        state_dict['log_scalars'] = _from_plain(state_dict['log_scalars'])
    _hub_load_state_dict(self, state_dict)


MessageHub.state_dict = _plain_state_dict
MessageHub.load_state_dict = _plain_load_state_dict


# --- 2. Atomic checkpoint (and other local file) writes ----------------------
# Why: mmengine's LocalBackend.put / put_text open the target and write, so a
# run killed while saving leaves a truncated checkpoint under the final name
# (and `--resume` picks it as the latest). Writing to a temporary file in the
# same folder and renaming it over the target is atomic on POSIX.
# Drop when mmengine's LocalBackend writes atomically.
def _atomic_put(self, obj: bytes, filepath) -> None:
    filepath = str(filepath)
    folder = osp.dirname(osp.abspath(filepath))
    mmengine.mkdir_or_exist(folder)
    fd, tmp = tempfile.mkstemp(
        dir=folder, prefix='.' + osp.basename(filepath), suffix='.tmp')
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; keep open()'s mode
        with os.fdopen(fd, 'wb') as f:
            f.write(obj)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, filepath)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise


def _atomic_put_text(self, obj: str, filepath, encoding: str = 'utf-8'):
    _atomic_put(self, obj.encode(encoding), filepath)


LocalBackend.put = _atomic_put
LocalBackend.put_text = _atomic_put_text  # mmengine.dump(json/yaml) too


# --- 3. A checkpoint of another architecture is an error, not a warning ------
# Why: mmengine loads `load_from` / `init_cfg=Pretrained` files with
# strict=False and only logs what did not fit, so a ViT-S file given to a
# ViT-B (or a ResNet file to a ViT) trains from scratch after a warning that
# scrolls by. Partial loads stay allowed (a new head, a resized position
# embedding); a load in which *no* tensor of the model fits the file raises,
# listing the mismatched keys. Drop if mmengine grows such a check.
def _guarded_load_state_dict(module, state_dict, strict=False, logger=None):
    from mmengine.model import is_model_wrapper
    target = module.module if is_model_wrapper(module) else module
    own = {k: v.shape for k, v in target.state_dict().items()}
    if own and state_dict:
        fits = [k for k, v in state_dict.items()
                if k in own and tuple(own[k]) == tuple(getattr(v, 'shape', ()))]
        if not fits:
            shape = [f'{k}: file {tuple(v.shape)} vs model {tuple(own[k])}'
                     for k, v in state_dict.items() if k in own]
            missing = [k for k in own if k not in state_dict]
            raise RuntimeError(
                f'checkpoint does not fit {type(target).__name__}: no tensor '
                f'matches (another architecture?). Shape mismatches '
                f'({len(shape)}): {shape[:10]}; missing ({len(missing)}): '
                f'{missing[:10]}; unexpected: '
                f'{[k for k in state_dict if k not in own][:10]}')
    return _mmengine_load_state_dict(module, state_dict, strict, logger)


_mmengine_load_state_dict = _checkpoint.load_state_dict
_checkpoint.load_state_dict = _guarded_load_state_dict


# --- 4. Hue jitter under NumPy 2 ----------------------------------------------
# Why: mmcv 2.1.0's adjust_hue adds `np.uint8(hue_factor * 255)` to the hue
# channel; for a negative factor NumPy 2 raises "OverflowError: Python integer
# -5 out of bounds for uint8" (NumPy 1 wrapped it), so every MoCo v3 / SymMIM
# ImageNet pipeline (ColorJitter hue=0.1) crashes on its first negative draw.
# Same computation, with the shift wrapped explicitly modulo 256.
# Drop when mmcv's adjust_hue casts through int (or NumPy 1 is back).
def _adjust_hue(img, hue_factor: float, backend=None):
    import cv2
    from mmcv.image.photometric import imread_backend
    from PIL import Image
    if not -0.5 <= hue_factor <= 0.5:
        raise ValueError(f'hue_factor ({hue_factor}) is not in [-0.5, 0.5]')
    if not (isinstance(img, np.ndarray) and img.ndim in (2, 3)):
        raise TypeError('img should be ndarray with dim=[2 or 3].')
    backend = backend or imread_backend
    shift = np.uint8(int(hue_factor * 255) % 256)
    if backend == 'pillow':
        if img.dtype != np.uint8:
            raise TypeError('Pillow backend only supports uint8 images')
        pil_image = Image.fromarray(img[..., ::-1], mode='RGB')
        h, s, v = pil_image.convert('HSV').split()
        np_h = np.array(h, dtype=np.uint8) + shift  # uint8: wraps around
        pil_image = Image.merge('HSV', (Image.fromarray(np_h, 'L'), s, v))
        return np.array(pil_image.convert('RGB'), dtype=img.dtype)[..., ::-1]
    dtype = img.dtype
    hsv = cv2.cvtColor(img.astype(np.uint8), cv2.COLOR_BGR2HSV_FULL)
    h, s, v = cv2.split(hsv)
    h = h.astype(np.uint8) + shift
    return cv2.cvtColor(cv2.merge([h, s, v]),
                        cv2.COLOR_HSV2BGR_FULL).astype(dtype)


def _patch_adjust_hue() -> None:
    import mmcv
    import mmcv.image
    import mmcv.image.photometric as photometric
    for owner in (mmcv, mmcv.image, photometric):
        owner.adjust_hue = _adjust_hue


_patch_adjust_hue()


# --- 5. Distributed training on CPU (torchrun + gloo) ------------------------
# Why: `tools/dist_train.sh` could not run without GPUs (CPU clusters, CI, the
# DDP tests), for three reasons in mmengine 0.10.7 / torch 2.15:
#  * `init_dist('pytorch')` calls torch.cuda.set_device unconditionally
#    ("Found no NVIDIA driver");
#  * the Runner wraps the model in DDP with device_ids=[LOCAL_RANK], which
#    torch rejects for CPU modules;
#  * torch's DDP and SyncBatchNorm refuse CPU SyncBatchNorm layers, and the
#    MoCo v3 / SymMIM projectors use SyncBN (mmpretrain's NonLinearNeck).
# Without CUDA: the process group starts without set_device (nccl is refused
# with a clear error), CPU modules get device_ids=None, and their SyncBN
# layers become GlooSyncBatchNorm, which sums the batch statistics over ranks
# with a differentiable all_reduce -- the statistics of one process on the
# global batch. GPU runs are untouched. Drop when mmengine and torch handle
# CPU launches.
import mmengine.dist.utils as _dist_utils  # noqa: E402
from mmengine.model.wrappers import \
    MMDistributedDataParallel as _MMDDP  # noqa: E402
from torch.nn.modules.batchnorm import _BatchNorm  # noqa: E402


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
