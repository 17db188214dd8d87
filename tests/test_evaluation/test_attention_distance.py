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


def brute_force(vit, images):
    """The definition, image by image, query by query, from the block
    inputs (patch tokens last), for a check of the vectorised path."""
    inputs = []
    hooks = [layer.attn.register_forward_pre_hook(
        lambda m, args: inputs.append(args[0])) for layer in vit.layers]
    with torch.no_grad():
        vit(images)
    for h in hooks:
        h.remove()
    h, w = images.shape[2] // 4, images.shape[3] // 4
    pos = [((i + .5) * 4, (j + .5) * 4) for i in range(h) for j in range(w)]
    out = torch.zeros(len(vit.layers), 2)
    for li, x in enumerate(inputs):
        with torch.no_grad():
            a = attention_maps(vit.layers[li].attn, x)[..., 1:, 1:]
        for b in range(len(images)):
            for head in range(2):
                per_q = []
                for q in range(h * w):
                    row = a[b, head, q] / a[b, head, q].sum()
                    per_q.append(sum(
                        float(row[k]) * ((pos[q][0] - pos[k][0])**2
                                         + (pos[q][1] - pos[k][1])**2)**0.5
                        for k in range(h * w)))
                out[li, head] += sum(per_q) / len(per_q) / len(images)
    return out


@pytest.mark.parametrize('batch_size', [3, 7])
def test_matches_the_definition_on_a_non_square_input(batch_size):
    """Random weights, a 16x32 input (4x8 patches), 7 images in uneven
    batches: the vectorised distance equals the brute-force one."""
    vit = tiny_vit(seed=2)
    x = torch.randn(7, 3, 16, 32, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(attention_distance(vit, x, batch_size),
                               brute_force(vit, x), atol=1e-4, rtol=1e-4)


def test_hooks_removed_and_mode_restored_after_an_error():
    vit = tiny_vit()
    vit.train()
    with pytest.raises(RuntimeError):  # 4 channels into a 3-channel stem
        attention_distance(vit, torch.randn(1, 4, 16, 16))
    assert vit.training
    assert not vit.patch_embed._forward_hooks
    assert not any(layer.attn._forward_pre_hooks for layer in vit.layers)


def test_windowed_blocks_are_refused():
    from mmsymmim.downstream.det.vitdet import ViTDetBackbone
    vit = ViTDetBackbone(window_size=2, global_attn_indices=(1, ),
                         arch=TINY_VIT['arch'], img_size=16, patch_size=4)
    with pytest.raises(ValueError, match='block 0 attends over'):
        attention_distance(vit, torch.randn(1, 3, 16, 16))
