"""SymMIMViT: the mask-token path and the visible-token path."""
import pytest
import torch

from mmsymmim.models import SymMIMViT
from mmsymmim.models.backbones.symmim_vit import gather_tokens, visible_index
from mmsymmim.models.necks import SymMIMDecoder

ARCH = dict(embed_dims=32, num_layers=2, num_heads=2, feedforward_channels=64)


def board(h, w, k, phase):
    """The paper's checkerboard written out: ``(h, w)`` bool, True=masked."""
    i = torch.arange(h)[:, None] // k
    j = torch.arange(w)[None] // k
    return (i + j + phase) % 2 == 1


def test_mask_token_replaces_only_masked_patches():
    """Changing pixels under masked patches must not change the output."""
    vit = SymMIMViT(arch=dict(embed_dims=32, num_layers=1, num_heads=2,
                              feedforward_channels=64),
                    img_size=16, patch_size=4)
    vit.init_weights()
    vit.eval()
    mask = torch.zeros(1, 4, 4, dtype=torch.bool)
    mask[0, 1, 2] = True
    x = torch.randn(1, 3, 16, 16)
    y = x.clone()
    y[..., 4:8, 8:12] += 5.0  # the pixels of token (1, 2)
    torch.testing.assert_close(vit(x, mask), vit(y, mask))
    assert not torch.allclose(vit(x)[0], vit(y)[0])


@pytest.mark.parametrize('grid', [(8, 8), (14, 14), (7, 7), (6, 10)])
@pytest.mark.parametrize('scale', [1, 2, 3])
def test_gather_then_scatter_is_exact(grid, scale):
    """Both phases in one batch (and a random mask): the gathered tokens are
    each sample's visible tokens in raster order, padding is flagged, and
    scattering back through ``ids_restore`` restores every visible token."""
    h, w = grid
    mask = torch.stack([board(h, w, scale, 0), board(h, w, scale, 1),
                        torch.rand(h, w) < 0.5]).flatten(1)
    x = torch.randn(3, h * w, 5)
    ids_shuffle, n, pad = visible_index(mask)
    vis = gather_tokens(x, ids_shuffle[:, :n])
    counts = (~mask).sum(1)
    assert n == counts.max()
    assert (pad is None) == bool((counts == n).all())
    for b in range(3):
        assert torch.equal(vis[b, :counts[b]], x[b][~mask[b]])
        if pad is not None:
            assert pad[b].sum() == n - counts[b]
            assert not pad[b, :counts[b]].any()
    if pad is not None:
        vis = vis.masked_fill(pad.unsqueeze(-1), 0.)
    full = torch.cat([vis, vis.new_zeros(3, h * w - n, 5)], dim=1)
    back = gather_tokens(full, torch.argsort(ids_shuffle, dim=1))
    assert torch.equal(back[~mask], x[~mask])
    assert (back[mask] == 0).all()


def test_visible_path_without_mask_is_the_plain_vit():
    vit = SymMIMViT(arch=ARCH, img_size=16, patch_size=4,
                    use_mask_token=False)
    vit.init_weights()
    vit.eval()
    x = torch.randn(2, 3, 16, 16)
    tokens, ids_restore, pad = vit.forward_visible(
        x, torch.zeros(2, 4, 4, dtype=torch.bool))
    assert pad is None and tokens.shape == (2, 17, 32)
    torch.testing.assert_close(tokens[:, 0], vit(x)[0])
    with pytest.raises(ValueError, match='use_mask_token=False'):
        vit(x, torch.zeros(2, 4, 4, dtype=torch.bool))


def test_padded_batch_equals_each_sample_alone():
    """A 7 x 7 grid with boards of 25, 24 and 21 visible tokens: padding plus
    the attention key mask give every sample exactly what it gets alone, in
    the encoder and in the decoder."""
    torch.manual_seed(0)
    vit = SymMIMViT(arch=ARCH, img_size=28, patch_size=4,
                    use_mask_token=False)
    vit.init_weights()
    dec = SymMIMDecoder(num_patches=49, patch_size=4, embed_dim=32,
                        decoder_embed_dim=16, decoder_depth=2,
                        decoder_num_heads=2)
    dec.init_weights()
    vit.eval()
    dec.eval()
    mask = torch.stack([board(7, 7, 1, 1), board(7, 7, 1, 0),
                        board(7, 7, 2, 0)])
    x = torch.randn(3, 3, 28, 28)
    tokens, ids_restore, pad = vit.forward_visible(x, mask)
    assert pad is not None and tokens.shape[1] == 1 + 25
    pred = dec(tokens, ids_restore, pad)
    assert pred.shape == (3, 49, 4 * 4 * 3)
    for b in range(3):
        alone, restore_b, pad_b = vit.forward_visible(x[b:b + 1],
                                                      mask[b:b + 1])
        assert pad_b is None
        n = alone.shape[1]
        torch.testing.assert_close(tokens[b, :n], alone[0], atol=1e-5,
                                   rtol=1e-5)
        torch.testing.assert_close(pred[b], dec(alone, restore_b)[0],
                                   atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize('img', [(16, 16), (16, 24), (18, 18)])
def test_visible_embedding_projects_only_what_it_keeps(img):
    """Projecting only the visible patches equals projecting all and
    gathering (18 px: patches do not tile, the general path is taken)."""
    vit = SymMIMViT(arch=ARCH, img_size=16, patch_size=4,
                    use_mask_token=False)
    vit.init_weights()
    x = torch.randn(2, 3, *img)
    h, w = -(-img[0] // 4), -(-img[1] // 4)
    mask = torch.stack([board(h, w, 1, 0), board(h, w, 2, 1)])
    assert vit._plain_projection(x) == (img[0] % 4 == 0)
    tokens, ids_shuffle, pad = vit.embed_visible(x, mask)
    full, pos, grid = vit.embed(x)
    assert grid == (h, w)
    n = tokens.shape[1]
    expected = gather_tokens(full + pos, ids_shuffle[:, :n])
    torch.testing.assert_close(tokens, expected, atol=1e-5, rtol=1e-5)
