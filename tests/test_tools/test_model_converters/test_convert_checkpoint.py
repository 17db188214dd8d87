import os.path as osp

import pytest
import timm
import torch

from mmpretrain.registry import MODELS
from ...harness import REPO, SYMMIM_DEMO, run_tool, tiny_arch

TINY_ARCH = tiny_arch(4)  # the arch of the tiny_symmim_ckpt fixture

TOOL = osp.join(REPO, 'tools/model_converters/convert_checkpoint.py')
UPERNET = osp.join(
    REPO, 'configs/symmim/benchmarks/'
    'upernet_vit-base-p16_8xb2-amp-160k_ade20k-512x512.py')


def convert(*args):
    return run_tool(TOOL, *args)


def symmim_backbone(ckpt):
    state = torch.load(ckpt, map_location='cpu', weights_only=True)
    weights = {k[9:]: v for k, v in state['state_dict'].items()
               if k.startswith('backbone.')}
    vit = MODELS.build(dict(type='SymMIMViT', arch=TINY_ARCH, img_size=32,
                            patch_size=4,
                            use_mask_token='mask_token' in weights))
    vit.load_state_dict(weights)
    vit.eval()  # MoCoV3ViT.train() returns None, so no chaining
    return vit


def test_timm_round_trip(tiny_symmim_ckpt, tmp_path):
    out = tmp_path / 'timm.pth'
    proc = convert(tiny_symmim_ckpt, str(out), '--to', 'timm')
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert 'missing keys (0)' in proc.stdout
    # strict load inside create_model: any missing key raises
    model = timm.create_model(
        'vit_base_patch16_224', checkpoint_path=str(out), img_size=32,
        patch_size=4, embed_dim=64, depth=4, num_heads=2, mlp_ratio=2.).eval()
    x = torch.randn(4, 3, 32, 32)
    with torch.no_grad():
        ours = symmim_backbone(tiny_symmim_ckpt)(x)[0]
        theirs = model.forward_features(x)[:, 0]
    assert (ours - theirs).abs().max().item() < 1e-5


def test_mmseg_export_checked_against_config(tiny_symmim_ckpt, tmp_path):
    cfg = tmp_path / 'tiny_upernet.py'
    cfg.write_text(f"_base_ = '{UPERNET}'\nmodel = dict(backbone=dict("
                   f"arch=dict(_delete_=True, **{TINY_ARCH!r}), patch_size=4, "
                   "img_size=64, out_indices=[0, 1, 2, 3]))\n")
    out = tmp_path / 'seg.pth'
    proc = convert(tiny_symmim_ckpt, str(out), '--to', 'mmseg', '--img-size',
                   '64', '--config', str(cfg))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert 'missing keys (0)' in proc.stdout
    state = torch.load(out, weights_only=True)['state_dict']
    assert state['backbone.pos_embed'].shape == (1, 1 + 16 * 16, 64)
    assert 'backbone.mask_token' not in state


def test_mmdet_export_drops_class_token(tiny_symmim_ckpt, tmp_path):
    out = tmp_path / 'det.pth'
    proc = convert(tiny_symmim_ckpt, str(out), '--to', 'mmdet', '--img-size',
                   '64')
    assert proc.returncode == 0, proc.stderr
    state = torch.load(out, weights_only=True)['state_dict']
    assert state['backbone.pos_embed'].shape == (1, 16 * 16, 64)
    assert 'backbone.cls_token' not in state


# argument checks: one mask path is enough (the default, visible tokens)
@pytest.mark.parametrize('tiny_symmim_run', [SYMMIM_DEMO], indirect=True,
                         ids=['visible'])
def test_mismatched_target_fails_and_writes_nothing(tiny_symmim_ckpt,
                                                    tmp_path):
    out = tmp_path / 'seg.pth'
    proc = convert(tiny_symmim_ckpt, str(out), '--to', 'mmseg', '--config',
                   UPERNET)  # ViT-B config vs a 64-wide checkpoint
    assert proc.returncode == 1
    assert 'shape mismatches' in proc.stdout
    assert 'nothing written' in proc.stderr and not out.exists()


@pytest.mark.parametrize('tiny_symmim_run', [SYMMIM_DEMO], indirect=True,
                         ids=['visible'])
@pytest.mark.parametrize('size', ['30'])
def test_bad_img_size(tiny_symmim_ckpt, tmp_path, size):
    proc = convert(tiny_symmim_ckpt, str(tmp_path / 'x.pth'), '--to', 'mmdet',
                   '--img-size', size)
    assert proc.returncode != 0 and 'not divisible' in proc.stderr
