"""Evaluation of one study run (run.py small-scale): frozen readouts
(weighted k-NN and linear probe) and 1 %-label fine-tuning.

Splits of Fashion-MNIST (``n`` = ``--bank``, 20,000 by default):

* ``val``: fit on train images ``[0, n)``, score on train ``[50000, 60000)``;
  the fine-tune's labelled images come from train ``[0, 50000)``. Used for
  every choice (tuning, diagnosis).
* ``test``: fit on train ``[0, n)``, score on the 10,000 test images.

ViT rows give two frozen readouts from one forward pass (every token after the
final norm): ``cls`` (class token) and ``mean`` (mean of the patch tokens);
ResNet rows ``pool`` (averaged last stage); raw pixels ``pixels``.
"""
import os.path as osp

import mmengine
import torch
import torch.nn as nn
import torch.nn.functional as F

from . import rows as sr

NUM_CLASSES = 10
VAL = (50000, 60000)


def load_split(split: str, n=None):
    """uint8 images ``(N, 1, 28, 28)`` and labels of Fashion-MNIST."""
    from mmsymmim.datasets.fashion_mnist import DEFAULT_ROOT, FILES, read_idx
    img, lab = (osp.join(DEFAULT_ROOT, f) for f in FILES[split])
    x = torch.from_numpy(read_idx(img, 16).reshape(-1, 1, 28, 28).copy())
    y = torch.from_numpy(read_idx(lab, 8).astype('int64'))
    return x[:n], y[:n]


def prepare(x: torch.Tensor) -> torch.Tensor:
    """uint8 batch -> the encoders' input: 32 px (bilinear, as the demo's
    Resize), normalised with the demo's mean / std, grey to 3 channels."""
    x = F.interpolate(x.float(), size=(32, 32), mode='bilinear',
                      align_corners=False)
    return ((x - 72.9) / 90.0).expand(-1, 3, -1, -1)


class Readout(nn.Module):
    """A backbone's ``(B, C)`` feature: ``'cls'`` / ``'mean'`` of a token
    sequence ``(B, 1 + L, C)``, ``'pool'`` of a map ``(B, C, h, w)``,
    ``'pixels'`` as given."""

    def __init__(self, backbone: nn.Module, mode: str) -> None:
        super().__init__()
        if mode not in ('cls', 'mean', 'pool', 'pixels'):
            raise ValueError(f"Readout: `mode` must be 'cls', 'mean', 'pool' "
                             f"or 'pixels', got {mode!r}")
        self.backbone, self.mode = backbone, mode

    def forward(self, x):
        y = self.backbone(x)
        y = y[-1] if isinstance(y, (tuple, list)) else y
        if self.mode == 'cls':
            return y[:, 0]
        if self.mode == 'mean':
            return y[:, 1:].mean(1)
        return y.mean((2, 3)) if y.dim() == 4 else y


READOUTS = {'vit': ('cls', 'mean'), 'resnet': ('pool', ),
            'pixels': ('pixels', )}


def eval_backbone(row: str) -> dict:
    """The backbone config the checkpoint's ``backbone.*`` tensors are loaded
    into: mmpretrain's plain ``VisionTransformer`` giving every token after
    the final norm (``out_type='raw'``; the study reads the class token and
    the mean of the patch tokens from it), or the ResNet itself (average-
    pooled last stage)."""
    spec = sr.ROWS[row]
    if spec.family == 'pixels':
        return dict(type='RawPixels', channels=1)
    cfg = sr.row_config(row)
    bb = cfg.model.backbone
    if spec.family == 'resnet':
        return dict(bb.to_dict())
    return dict(type='VisionTransformer', arch=dict(bb.arch), img_size=32,
                patch_size=4, out_type='raw', final_norm=True,
                norm_cfg=dict(type='LN', eps=1e-6))


def backbone(job: dict, work_dir: str) -> nn.Module:
    """The frozen encoder of a job: its trained checkpoint, or the seeded
    initialisation of its family (untrained rows)."""
    from mmpretrain.registry import MODELS
    from mmsymmim.evaluation.finetune import RawPixels, load_backbone
    row = sr.ROWS[job['row']]
    if row.family == 'pixels':
        return RawPixels(channels=1)
    if row.train:
        return load_backbone(eval_backbone(job['row']), job['checkpoint'])
    torch.manual_seed(job['seed'])  # the pretraining init of the family
    init = MODELS.build(sr.row_config(job['row']).model.backbone)
    init.init_weights()
    path = osp.join(work_dir, job['tag'], 'init.pth')
    mmengine.mkdir_or_exist(osp.dirname(path))
    torch.save(dict(state_dict={'backbone.' + k: v
                                for k, v in init.state_dict().items()}), path)
    return load_backbone(eval_backbone(job['row']), path)


@torch.no_grad()
def features(net: nn.Module, images: torch.Tensor, modes) -> dict:
    """``{mode: (N, C)}`` for every readout mode, one forward per batch."""
    net.eval()
    heads = {m: Readout(nn.Identity(), m) for m in modes}
    out = {m: [] for m in modes}
    for i in range(0, len(images), 500):
        y = net(prepare(images[i:i + 500]))
        for m, h in heads.items():
            out[m].append(h(y).float())
    return {m: torch.cat(v) for m, v in out.items()}


def evaluate(job: dict, evals, args) -> dict:
    """``{eval_name: {metric: top-1 %}}`` for ``evals`` among 'val' and
    'test' (frozen readouts; 'test' adds the class-token fine-tune),
    'val_ft' and 'val_ft_mean' (fine-tune from the class token / the mean
    of the patch tokens, scored on the validation split)."""
    from mmsymmim.evaluation import knn_predict, linear_probe_accuracy
    from mmsymmim.evaluation.finetune import balanced_subset
    family = sr.ROWS[job['row']].family
    modes = READOUTS[family]
    net = backbone(job, args.work_dir)
    smoke = (600, 300) if args.smoke else (None, None)
    n_bank, n_query = smoke[0] or args.bank, smoke[1]
    train_x, train_y = load_split('train')
    val = slice(*VAL) if not args.smoke else slice(VAL[0], VAL[0] + 300)
    lab = balanced_subset(train_y[:VAL[0]], args.ft_per_class,
                          args.ft_subset_seed)
    fit = None
    out = {}
    for name in evals:
        if name in ('val', 'test'):
            fit = fit or features(net, train_x[:n_bank], modes)
            if name == 'val':
                qx, qy = train_x[val], train_y[val]
            else:
                qx, qy = load_split('test', n_query)
            q = features(net, qx, modes)
            res = {}
            for m in modes:
                pred = knn_predict(fit[m], train_y[:n_bank], q[m],
                                   NUM_CLASSES, k=20, temperature=0.07)
                res[f'knn_{m}'] = round((pred == qy).float().mean().item()
                                        * 100, 2)
                res[f'linear_{m}'] = round(linear_probe_accuracy(
                    fit[m], train_y[:n_bank], q[m], qy, NUM_CLASSES,
                    epochs=args.linear_epochs, lr=args.linear_lr,
                    seed=job['seed']), 2)
            if name == 'test':
                res['finetune'] = _finetune(net, modes[0], lab, train_x,
                                            train_y, qx, qy, job, args)
        elif name in ('val_ft', 'val_ft_mean'):
            mode = 'mean' if name == 'val_ft_mean' else modes[0]
            if mode not in modes:
                raise ValueError(f'{name}: {job["row"]} has no {mode} readout')
            res = {'finetune': _finetune(net, mode, lab, train_x, train_y,
                                         train_x[val], train_y[val], job,
                                         args)}
        else:
            raise ValueError(f'unknown evaluation {name!r}')
        out[name] = res
    return out


def _finetune(net, mode, lab, train_x, train_y, qx, qy, job, args):
    from mmsymmim.evaluation.finetune import finetune_accuracy
    return round(finetune_accuracy(
        Readout(net, mode), train_x[lab], train_y[lab], qx, qy, NUM_CLASSES,
        epochs=args.ft_epochs, prepare=prepare, seed=job['seed']), 2)
