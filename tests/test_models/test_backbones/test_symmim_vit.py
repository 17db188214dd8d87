"""SymMIMViT: the mask token replaces exactly the masked patches."""
import torch

from mmsymmim.models import SymMIMViT


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
