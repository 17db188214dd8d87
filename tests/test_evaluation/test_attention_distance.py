import pytest
import torch

from mmsymmim.evaluation import load_backbone
from mmsymmim.evaluation.attention_distance import (
    attention_distance,
    attention_maps,
)

TINY_VIT = dict(type='VisionTransformer',
                arch=dict(embed_dims=32, num_layers=2, num_heads=2,
                          feedforward_channels=64),
                img_size=16, patch_size=4, out_type='raw')


def tiny_vit(seed=0):
    torch.manual_seed(seed)
    vit = load_backbone(TINY_VIT)
    vit.eval()
    return vit


def grid_mean_distance(h, w, pixels):
    """Mean distance between two patches of an h x w grid (queries and keys
    both uniform), by brute force."""
    pts = [(i * pixels, j * pixels) for i in range(h) for j in range(w)]
    d = [((a[0] - b[0])**2 + (a[1] - b[1])**2)**0.5 for a in pts for b in pts]
    return sum(d) / len(d)


def test_attention_maps_reproduce_the_block():
    """The recomputed softmax attention times v, projected, is the block's
    attention output: the maps are the ones the model uses."""
    vit = tiny_vit()
    attn = vit.layers[1].attn
    x = torch.randn(3, 17, 32)
    a = attention_maps(attn, x)
    assert a.shape == (3, 2, 17, 17)
    torch.testing.assert_close(a.sum(-1), torch.ones(3, 2, 17))
    v = attn.qkv(x).reshape(3, 17, 3, 2, 16).permute(2, 0, 3, 1, 4)[2]
    out = attn.proj((a @ v).transpose(1, 2).reshape(3, 17, 32))
    torch.testing.assert_close(out, attn(x), atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize('size', [16, 32])
def test_uniform_attention_gives_grid_mean_distance(size):
    """With q = k = 0 every patch attends to all patches alike: the distance
    is the grid's mean pairwise distance, also at a larger input than the
    backbone's img_size (position embedding resized)."""
    vit = tiny_vit()
    for layer in vit.layers:
        with torch.no_grad():
            layer.attn.qkv.weight[:64] = 0
            layer.attn.qkv.bias[:64] = 0
    d = attention_distance(vit, torch.randn(5, 3, size, size), batch_size=2)
    assert d.shape == (2, 2)
    n = size // 4
    torch.testing.assert_close(
        d, torch.full((2, 2), grid_mean_distance(n, n, 4.)))


def test_local_heads_measure_shorter():
    """A head whose keys favour the query's own patch measures closer than
    uniform attention: q = k = x, so a token attends most to itself."""
    vit = tiny_vit()
    for layer in vit.layers:
        with torch.no_grad():
            w = torch.zeros(96, 32)
            w[:32] = torch.eye(32) * 8
            w[32:64] = torch.eye(32) * 8
            layer.attn.qkv.weight.copy_(w)
            layer.attn.qkv.bias.zero_()
    d = attention_distance(vit, torch.randn(4, 3, 16, 16))
    assert (d < 0.5 * grid_mean_distance(4, 4, 4.)).all()


def test_rejects_a_backbone_without_vit_blocks():
    from mmpretrain.models import ResNet
    with pytest.raises(TypeError, match='VisionTransformer'):
        attention_distance(ResNet(18), torch.randn(1, 3, 16, 16))
