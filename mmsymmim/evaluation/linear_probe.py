"""Linear probe on frozen features: a softmax classifier on fixed features."""
import torch
import torch.nn.functional as F


def linear_probe_accuracy(train_feats: torch.Tensor,
                          train_labels: torch.Tensor,
                          test_feats: torch.Tensor,
                          test_labels: torch.Tensor,
                          num_classes: int,
                          epochs: int = 100,
                          lr: float = 0.1,
                          weight_decay: float = 1e-4,
                          seed: int = 0) -> float:
    """Top-1 (%) of a linear classifier trained on standardised features.

    Full-batch AdamW with cosine lr on ``(N, C)`` features (the features are
    standardised with the training set's mean and std, which is what a
    BatchNorm in front of the linear layer does in mmpretrain's
    ``ClsBatchNormNeck``).
    """
    g = torch.Generator().manual_seed(seed)
    mean = train_feats.mean(0, keepdim=True)
    std = train_feats.std(0, keepdim=True) + 1e-6
    x, xt = (train_feats - mean) / std, (test_feats - mean) / std
    w = (torch.randn(x.shape[1], num_classes, generator=g) * 0.01)
    w.requires_grad_(True)
    b = torch.zeros(num_classes, requires_grad=True)
    opt = torch.optim.AdamW([w, b], lr=lr, weight_decay=weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs)
    for _ in range(epochs):
        opt.zero_grad()
        F.cross_entropy(x @ w + b, train_labels).backward()
        opt.step()
        sched.step()
    with torch.no_grad():
        pred = (xt @ w + b).argmax(1)
    return (pred == test_labels).float().mean().item() * 100
