"""Frozen features and few-label fine-tuning of a pretrained backbone.

* :func:`load_backbone`: a backbone config (e.g. mmpretrain's plain
  ``VisionTransformer`` or ``ResNet_CIFAR``) with the ``backbone.*`` weights of
  a self-supervised checkpoint; every tensor of the backbone must come from
  the file (extra keys such as a mask token are ignored).
* :func:`encode`: pooled features ``(N, C)`` of a frozen backbone (class
  token or averaged map, :func:`~mmsymmim.evaluation.knn.pool_features`).
* :func:`balanced_subset`: a fixed, class-balanced few-label subset.
* :func:`finetune_accuracy`: end-to-end fine-tuning of backbone + a linear
  head on few labels (AdamW, warm-up + cosine, random-crop and flip), top-1
  on a test set.

Images are given as tensors; ``prepare`` (optional) turns each batch into the
backbone's input (e.g. uint8 -> resized, normalised float), so a large data
set can stay uint8 in memory.
"""
import copy
import math
from typing import Callable, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from .knn import pool_features


class RawPixels(nn.Module):
    """No encoder: the (prepared) pixels of the first ``channels`` channels,
    flattened. With a linear head, fine-tuning it is logistic regression on
    pixels."""

    def __init__(self, channels: int = 1) -> None:
        super().__init__()
        self.channels = channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, :self.channels].flatten(1)


def load_backbone(cfg: dict, checkpoint: Optional[str] = None,
                  prefix: str = 'backbone.') -> nn.Module:
    """Build ``cfg`` (mmpretrain's registry) and load the ``prefix*`` tensors
    of ``checkpoint`` into it.

    Raises if a tensor of the backbone is missing from the file or has
    another shape (a wrong row's or wrong-size checkpoint); keys the backbone
    lacks (mask tokens, a decoder) are ignored.
    """
    from mmengine.runner.checkpoint import CheckpointLoader

    from mmpretrain.registry import MODELS
    backbone = MODELS.build(copy.deepcopy(cfg))
    if checkpoint is None:
        backbone.init_weights()
        return backbone
    ckpt = CheckpointLoader.load_checkpoint(checkpoint, map_location='cpu')
    state = ckpt.get('state_dict', ckpt)
    state = {k[len(prefix):]: v for k, v in state.items()
             if k.startswith(prefix)}
    own = backbone.state_dict()
    missing = sorted(set(own) - set(state))
    bad = sorted(k for k in own
                 if k in state and own[k].shape != state[k].shape)
    if missing or bad:
        raise ValueError(
            f'load_backbone: {checkpoint} does not fit {cfg.get("type")}: '
            f'missing {missing[:5]}, shape mismatch {bad[:5]} '
            f'(prefix {prefix!r})')
    backbone.load_state_dict({k: state[k] for k in own}, strict=True)
    return backbone


def _batches(images: torch.Tensor, batch_size: int,
             prepare: Optional[Callable]):
    for i in range(0, len(images), batch_size):
        x = images[i:i + batch_size]
        yield prepare(x) if prepare is not None else x


@torch.no_grad()
def encode(backbone: nn.Module, images: torch.Tensor, batch_size: int = 500,
           prepare: Optional[Callable] = None) -> torch.Tensor:
    """``(N, C)`` float features of ``images`` through a frozen backbone (eval
    mode; the mode is restored)."""
    was_training = backbone.training
    backbone.eval()
    try:
        feats = [pool_features(backbone(x)).float()
                 for x in _batches(images, batch_size, prepare)]
    finally:
        backbone.train(was_training)
    return torch.cat(feats)


def balanced_subset(labels: torch.Tensor, per_class: int,
                    seed: int = 0) -> torch.Tensor:
    """Sorted indices of ``per_class`` random samples of every class (fixed by
    ``seed``). Raises if a class has fewer samples."""
    g = torch.Generator().manual_seed(seed)
    picks = []
    for c in torch.unique(labels).tolist():
        idx = torch.nonzero(labels == c).flatten()
        if len(idx) < per_class:
            raise ValueError(f'balanced_subset: class {c} has {len(idx)} '
                             f'samples, {per_class} asked')
        picks.append(idx[torch.randperm(len(idx), generator=g)[:per_class]])
    return torch.cat(picks).sort().values


def random_crop_flip(x: torch.Tensor, pad: int, g: torch.Generator):
    """Light augmentation of a ``(B, C, H, W)`` batch: a random crop of the
    image padded by ``pad`` (edge values) and a horizontal flip (p = 0.5),
    drawn per sample."""
    B, _, H, W = x.shape
    if pad > 0:
        xp = F.pad(x, (pad, pad, pad, pad), mode='replicate')
        dy = torch.randint(0, 2 * pad + 1, (B, ), generator=g)
        dx = torch.randint(0, 2 * pad + 1, (B, ), generator=g)
        x = torch.stack([xp[i, :, dy[i]:dy[i] + H, dx[i]:dx[i] + W]
                         for i in range(B)])
    flip = torch.rand(B, generator=g) < 0.5
    return torch.where(flip[:, None, None, None], x.flip(-1), x)


class _Classifier(nn.Module):

    def __init__(self, backbone: nn.Module, dim: int, num_classes: int):
        super().__init__()
        self.backbone = backbone
        self.head = nn.Linear(dim, num_classes)
        nn.init.normal_(self.head.weight, std=0.01)
        nn.init.zeros_(self.head.bias)

    def forward(self, x):
        return self.head(pool_features(self.backbone(x)))


def finetune_accuracy(backbone: nn.Module,
                      train_x: torch.Tensor,
                      train_y: torch.Tensor,
                      test_x: torch.Tensor,
                      test_y: torch.Tensor,
                      num_classes: int,
                      epochs: int = 30,
                      batch_size: int = 50,
                      lr: float = 5e-4,
                      head_lr_mult: float = 10.,
                      weight_decay: float = 0.05,
                      warmup_epochs: float = 1.,
                      crop_pad: int = 2,
                      prepare: Optional[Callable] = None,
                      seed: int = 0) -> float:
    """Top-1 (%) on ``test_x`` after fine-tuning a copy of ``backbone`` plus
    a linear head end to end on ``train_x`` (the backbone passed in is not
    changed).

    One schedule for every encoder: AdamW (``lr`` for the backbone,
    ``lr * head_lr_mult`` for the new head, ``weight_decay``; no decay on
    biases, norms, tokens and position embeddings), linear warm-up over
    ``warmup_epochs`` then cosine to 0 per step, shuffled mini-batches (the
    last partial batch kept), :func:`random_crop_flip` after ``prepare``.
    The head is 0.01-normal.
    ``seed`` fixes head init, order and augmentation; the global RNG is left
    as it was.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        g = torch.Generator().manual_seed(seed)
        net = copy.deepcopy(backbone)
        with torch.no_grad():
            net.eval()
            x0 = train_x[:2]
            dim = pool_features(
                net(prepare(x0) if prepare is not None else x0)).shape[1]
        model = _Classifier(net, dim, num_classes)
        groups = {}
        for name, p in model.named_parameters():
            if not p.requires_grad:
                continue
            no_decay = p.dim() < 2 or 'token' in name or 'pos_embed' in name
            head = name.startswith('head.')
            groups.setdefault((head, no_decay), []).append(p)
        opt = torch.optim.AdamW([
            dict(params=ps, lr=lr * (head_lr_mult if head else 1.),
                 weight_decay=0. if no_decay else weight_decay)
            for (head, no_decay), ps in groups.items()
        ])
        steps_per_epoch = math.ceil(len(train_x) / batch_size)
        total = max(1, epochs * steps_per_epoch)
        warm = min(total - 1, int(warmup_epochs * steps_per_epoch))

        def factor(step):
            if step < warm:
                return (step + 1) / (warm + 1)
            return 0.5 * (1 + math.cos(math.pi * (step - warm) /
                                       max(1, total - warm)))

        sched = torch.optim.lr_scheduler.LambdaLR(opt, factor)
        model.train()
        for _ in range(epochs):
            order = torch.randperm(len(train_x), generator=g)
            for i in range(0, len(order), batch_size):
                idx = order[i:i + batch_size]
                x = train_x[idx]
                x = prepare(x) if prepare is not None else x
                x = random_crop_flip(x.float(), crop_pad, g)
                loss = F.cross_entropy(model(x), train_y[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
                sched.step()
        model.eval()
        correct = 0
        with torch.no_grad():
            for i, x in enumerate(_batches(test_x, 500, prepare)):
                pred = model(x.float()).argmax(1)
                correct += (pred == test_y[i * 500:i * 500 + len(x)]).sum()
    return correct.item() / len(test_x) * 100
