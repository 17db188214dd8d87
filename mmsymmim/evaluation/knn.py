"""Weighted k-NN classification on frozen features (as in InstDisc / DINO).

Each test feature votes with its k most cosine-similar bank features, each
vote weighted by ``exp(similarity / temperature)``; the class with the largest
summed weight wins.
"""
from typing import Tuple

import torch
import torch.nn.functional as F
from mmengine.dist import all_gather
from mmengine.model import BaseModel


def knn_predict(bank: torch.Tensor,
                bank_labels: torch.Tensor,
                queries: torch.Tensor,
                num_classes: int,
                k: int = 20,
                temperature: float = 0.07,
                chunk: int = 1024) -> torch.Tensor:
    """Predict labels of ``queries`` from a labelled feature bank.

    Args:
        bank: ``(N, C)`` features (normalised here).
        bank_labels: ``(N,)`` int labels in ``[0, num_classes)``.
        queries: ``(M, C)`` features.
        num_classes: number of classes.
        k: neighbours; clipped to N.
        temperature: vote temperature.
        chunk: queries per matrix product, to bound memory.

    Returns:
        ``(M,)`` predicted labels.
    """
    if bank.shape[0] != bank_labels.shape[0]:
        raise ValueError(f'knn_predict: {bank.shape[0]} bank features but '
                         f'{bank_labels.shape[0]} labels')
    bank = F.normalize(bank.float(), dim=1)
    queries = F.normalize(queries.float(), dim=1)
    k = min(k, bank.shape[0])
    preds = []
    for q in queries.split(chunk):
        sim, idx = (q @ bank.T).topk(k, dim=1)
        votes = torch.zeros(q.shape[0], num_classes, device=q.device)
        votes.scatter_add_(1, bank_labels[idx], (sim / temperature).exp())
        preds.append(votes.argmax(dim=1))
    return torch.cat(preds)


def pool_features(feats) -> torch.Tensor:
    """Backbone output to ``(B, C)``: last stage; feature maps are averaged,
    token sequences ``(B, L, C)`` give their first (class) token."""
    if isinstance(feats, (tuple, list)):
        feats = feats[-1]
    if feats.dim() == 4:
        return feats.mean(dim=(2, 3))
    if feats.dim() == 3:
        return feats[:, 0]
    return feats


@torch.no_grad()
def extract_features(model: BaseModel,
                     dataloader) -> Tuple[torch.Tensor, torch.Tensor]:
    """``(N, C)`` pooled backbone features and ``(N,)`` labels of a loader.

    Under distributed training each rank encodes its shard (mmengine's
    ``DefaultSampler``) and the shards are gathered, so every rank holds all
    features (the sampler pads the last shard with up to world_size - 1
    repeated images).
    """
    was_training = model.training
    model.eval()
    feats, labels = [], []
    try:
        for data in dataloader:
            data = model.data_preprocessor(data, False)
            feats.append(pool_features(model.extract_feat(data['inputs'])))
            labels.append(
                torch.cat([ds.gt_label for ds in data['data_samples']]))
    finally:
        model.train(was_training)
    feats = torch.cat(feats).float()
    labels = torch.cat(labels).to(feats.device)
    return torch.cat(all_gather(feats)), torch.cat(all_gather(labels))


def knn_accuracy(model: BaseModel, bank_loader, test_loader,
                 num_classes: int, k: int = 20,
                 temperature: float = 0.07) -> float:
    """Top-1 (%) of weighted k-NN with ``bank_loader`` as the memory bank."""
    bank, bank_labels = extract_features(model, bank_loader)
    queries, labels = extract_features(model, test_loader)
    preds = knn_predict(bank, bank_labels, queries, num_classes, k,
                        temperature)
    return (preds == labels).float().mean().item() * 100
