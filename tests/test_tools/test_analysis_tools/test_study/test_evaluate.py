"""study/evaluate.py: the evaluation backbone's readouts are the
pretraining backbone's features."""

import pytest
import torch

from study import evaluate as se
from study import rows as sr


@pytest.mark.parametrize('row', ['symmim-visible', 'mae', 'mocov2'])
def test_readouts_are_the_pretraining_backbones_features(row, tmp_path):
    """The evaluation backbone loads every tensor of the row's backbone and
    its readouts are the pretraining backbone's class token / mean of the
    patch tokens after the final norm (ResNet: pooled map)."""
    from mmpretrain.registry import MODELS
    from mmsymmim.evaluation.finetune import load_backbone
    torch.manual_seed(0)
    model = MODELS.build(sr.row_config(row).model)
    model.init_weights()
    path = tmp_path / 'ckpt.pth'
    torch.save(dict(state_dict=model.state_dict()), path)
    net = load_backbone(se.eval_backbone(row), str(path))
    x = torch.randn(3, 3, 32, 32)
    model.eval()
    net.eval()
    with torch.no_grad():
        own = model.backbone(x, None) if row == 'mae' else model.backbone(x)
        own = own[-1] if isinstance(own, tuple) else own
        got = {m: se.Readout(net, m)(x) for m in se.READOUTS[
            sr.ROWS[row].family]}
    if own.dim() == 4:
        assert torch.allclose(got['pool'], own.mean((2, 3)), atol=1e-5)
        return
    if own.dim() == 2:  # SymMIMViT's unmasked output: the class token
        assert torch.allclose(got['cls'], own, atol=1e-5)
    else:  # MAEViT(mask=None) gives every token
        assert torch.allclose(got['cls'], own[:, 0], atol=1e-5)
        assert torch.allclose(got['mean'], own[:, 1:].mean(1), atol=1e-5)
    tokens = net(x)[-1]
    assert torch.allclose(got['mean'], tokens[:, 1:].mean(1))
