"""The stack `tools/setup.sh` installs: mmcv's compiled ops load and compute.

setup.sh builds mmcv's ops from source with its own recipe (C++20, no debug
info, the thin wrappers in one translation unit). These tests hold that build
to independent implementations: torchvision's RoIAlign and NMS.
"""
# each op module checks at import that `_ext` has its functions
import mmcv.ops as mmcv_ops
import pytest
import torch
import torchvision


@pytest.mark.parametrize('aligned', [True, False])
@pytest.mark.parametrize('sampling_ratio', [0, 2])
def test_roi_align_matches_torchvision(aligned, sampling_ratio):
    gen = torch.Generator().manual_seed(0)
    feats = torch.randn(2, 8, 20, 24, generator=gen, dtype=torch.float64)
    xy = torch.rand(12, 2, generator=gen, dtype=torch.float64) * 30
    wh = torch.rand(12, 2, generator=gen, dtype=torch.float64) * 20 + 1
    rois = torch.cat(
        [torch.randint(0, 2, (12, 1), generator=gen).double(), xy, xy + wh], 1)
    ours = mmcv_ops.roi_align(feats, rois, (5, 4), 0.5, sampling_ratio, 'avg',
                              aligned)
    ref = torchvision.ops.roi_align(feats, rois, (5, 4), 0.5, sampling_ratio,
                                    aligned)
    torch.testing.assert_close(ours, ref, rtol=1e-9, atol=1e-9)

    feats.requires_grad_(True)
    grad, = torch.autograd.grad(
        mmcv_ops.roi_align(feats, rois, (5, 4), 0.5, sampling_ratio, 'avg',
                           aligned).square().sum(), feats)
    feats_ref = feats.detach().clone().requires_grad_(True)
    grad_ref, = torch.autograd.grad(
        torchvision.ops.roi_align(feats_ref, rois, (5, 4), 0.5, sampling_ratio,
                                  aligned).square().sum(), feats_ref)
    torch.testing.assert_close(grad, grad_ref, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize('iou_threshold', [0.3, 0.7])
def test_nms_matches_torchvision(iou_threshold):
    gen = torch.Generator().manual_seed(1)
    xy = torch.rand(300, 2, generator=gen) * 100
    boxes = torch.cat([xy, xy + torch.rand(300, 2, generator=gen) * 40 + 1], 1)
    scores = torch.rand(300, generator=gen)
    dets, keep = mmcv_ops.nms(boxes, scores, iou_threshold)
    ref = torchvision.ops.nms(boxes, scores, iou_threshold)
    assert 0 < len(ref) < 300
    assert torch.equal(keep, ref)
    torch.testing.assert_close(dets[:, 4], scores[ref])
