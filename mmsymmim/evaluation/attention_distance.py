"""Mean attention distance of a ViT: how far, in pixels, each head looks.

The locality measure of the ViT paper (Dosovitskiy et al., fig. 7) and of
the analyses of masked image modeling (Xie et al., "Revealing the dark
secrets of MIM"): for each layer and head, the distance between a query
patch and the patches it attends to, weighted by the attention, averaged
over query patches and images. A small distance is a local head; MIM is
said to keep more local heads in the upper layers than contrastive
pretraining, which is the argument for its dense transfer.

* :func:`attention_distance`: ``(num_layers, num_heads)`` mean distance in
  pixels of an mmpretrain ``VisionTransformer`` (or subclass) on a batch of
  images ``(N, 3, H, W)``, already normalised.

Only patch tokens count: the attention a patch gives to the class (extra)
tokens is dropped and the rest renormalised, so the number is where a
patch's attention over the image goes. The attention is recomputed from each
block's ``qkv`` projection and its input (the block's first norm), as
mmpretrain's ``MultiheadAttention`` computes it (scale ``head_dims ** -0.5``);
the input may be larger than the backbone's ``img_size`` (the position
embedding is resized as in its forward).
"""
import torch
import torch.nn as nn


def _patch_centres(hw, pixels_per_patch) -> torch.Tensor:
    """``(h*w, 2)`` centres ``(y, x)`` of a ``hw`` patch grid, in pixels,
    row-major as the patch embedding orders its tokens."""
    h, w = hw
    ys, xs = torch.meshgrid(torch.arange(h), torch.arange(w), indexing='ij')
    return torch.stack([(ys.flatten() + 0.5) * pixels_per_patch[0],
                        (xs.flatten() + 0.5) * pixels_per_patch[1]], 1)


def attention_maps(attn: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Softmax attention ``(B, heads, N, N)`` of an mmpretrain
    ``MultiheadAttention`` given its input ``x`` ``(B, N, C)``."""
    B, N, _ = x.shape
    qkv = attn.qkv(x).reshape(B, N, 3, attn.num_heads, attn.head_dims)
    q, k = qkv.permute(2, 0, 3, 1, 4)[:2]
    return (q @ k.transpose(-2, -1) * attn.head_dims**-0.5).softmax(-1)


@torch.no_grad()
def attention_distance(backbone: nn.Module, images: torch.Tensor,
                       batch_size: int = 64) -> torch.Tensor:
    """Mean attention distance ``(num_layers, num_heads)`` in pixels of
    ``backbone`` (mmpretrain ``VisionTransformer``: ``patch_embed``,
    ``layers[i].attn``; extra tokens before the patch tokens) over
    ``images`` ``(N, 3, H, W)``. Every block must attend globally (a
    windowed block's input is not ``(B, extra + h*w, C)``: ValueError)."""
    if not all(hasattr(backbone, a) for a in ('layers', 'patch_embed')):
        raise TypeError(
            f'attention_distance: backbone must be an mmpretrain '
            f'VisionTransformer (patch_embed, layers), got '
            f'{type(backbone).__name__}')
    was_training = backbone.training
    backbone.eval()
    inputs, grid, hooks = [], {}, []
    total = torch.zeros(len(backbone.layers),
                        backbone.layers[0].attn.num_heads)
    try:
        for layer in backbone.layers:
            hooks.append(layer.attn.register_forward_pre_hook(
                lambda m, args: inputs.append(args[0])))
        hooks.append(backbone.patch_embed.register_forward_hook(
            lambda m, args, out: grid.update(hw=out[1])))
        for i in range(0, len(images), batch_size):
            batch = images[i:i + batch_size]
            inputs.clear()
            backbone(batch)
            hw = grid['hw']
            P = hw[0] * hw[1]
            centres = _patch_centres(hw, (batch.shape[2] / hw[0],
                                          batch.shape[3] / hw[1]))
            dist = torch.cdist(centres, centres)  # (P, P) pixels
            for li, (layer, x) in enumerate(zip(backbone.layers, inputs)):
                if x.shape[0] != len(batch) or x.shape[1] < P:
                    raise ValueError(
                        f'attention_distance: block {li} attends over '
                        f'{tuple(x.shape)} tokens, not ({len(batch)}, '
                        f'>= {P}, C): windowed attention is not supported')
                # patch tokens only (the extra ones come first)
                a = attention_maps(layer.attn, x)[..., -P:, -P:]
                a = a / a.sum(-1, keepdim=True)
                # (B, heads, P): each query patch's mean distance
                per_query = (a * dist).sum(-1)
                total[li] += per_query.mean(-1).sum(0)
    finally:
        for h in hooks:
            h.remove()
        backbone.train(was_training)
    return total / len(images)
