"""Run mmcv's compiled ops on fixed inputs, to compare two builds of mmcv.

`tools/setup.sh` builds mmcv's ops with its own recipe (no debug info, the thin
wrappers in one translation unit). To check a build against another (say, one
made with mmcv's own flags), run this in each environment and compare:

    .venv/bin/python tools/misc/mmcv_ops_probe.py --save a.pt
    other-env/bin/python tools/misc/mmcv_ops_probe.py --save b.pt
    .venv/bin/python tools/misc/mmcv_ops_probe.py --compare a.pt b.pt

Outputs are compared bit for bit; an op with no CPU kernel must fail with the
same error in both.
"""
import argparse
import sys

import numpy as np
import torch


def probe():
    """Return {op name: [output tensors] or 'ERR <error>'}."""
    import mmcv.ops as O
    torch.manual_seed(0)
    out = {}

    def run(name, fn):
        try:
            r = fn()
            if isinstance(r, (tuple, list)):
                r = [
                    x.detach().clone()
                    if torch.is_tensor(x) else torch.as_tensor(np.asarray(x))
                    for x in r
                ]
            else:
                r = [r.detach().clone()]
            out[name] = r
        except Exception as e:
            out[name] = 'ERR ' + type(e).__name__ + ': ' + str(e)[:200]

    feat = torch.randn(2, 8, 16, 16, requires_grad=True)
    rois = torch.tensor([[0, 1., 1., 10., 12.], [1, 0., 2., 15., 9.],
                         [0, 3.5, 4.2, 8.1, 14.9]])

    def roi_align():
        y = O.roi_align(feat, rois, (4, 4), 0.5, 2, 'avg', True)
        g, = torch.autograd.grad(y.square().sum(), feat)
        return y, g

    run('roi_align', roi_align)
    run('roi_align_max', lambda: O.roi_align(feat, rois,
                                             (3, 3), 1.0, 0, 'max', False))
    run('roi_pool', lambda: O.roi_pool(feat, rois, (3, 3), 0.5))
    boxes = torch.rand(200, 4) * 50
    boxes[:, 2:] += boxes[:, :2]
    scores = torch.rand(200)
    idxs = torch.randint(0, 5, (200, ))
    run('nms', lambda: O.nms(boxes, scores, 0.5))
    run('soft_nms', lambda: O.soft_nms(boxes, scores, 0.3, method='gaussian'))
    run(
        'batched_nms', lambda: O.batched_nms(
            boxes, scores, idxs, dict(type='nms', iou_threshold=0.6)))
    rb = torch.cat([
        torch.rand(50, 2) * 50,
        torch.rand(50, 2) * 10 + 1,
        torch.rand(50, 1)
    ], 1)
    run('box_iou_rotated', lambda: O.box_iou_rotated(rb, rb[:20]))
    run('nms_rotated', lambda: O.nms_rotated(rb, torch.rand(50), 0.3))
    rrois = torch.tensor([[0, 8., 8., 6., 4., 0.3], [1, 5., 9., 7., 3., -0.5]])
    run('roi_align_rotated',
        lambda: O.roi_align_rotated(feat, rrois, (3, 3), 0.5, 2, True, False))
    off = torch.randn(2, 18, 16, 16) * 0.5
    w = torch.randn(4, 8, 3, 3)
    run('deform_conv2d', lambda: O.deform_conv2d(feat, off, w, 1, 1))
    mask = torch.rand(2, 9, 16, 16)
    run(
        'modulated_deform_conv2d', lambda: O.modulated_deform_conv2d(
            feat, off, mask, w, None, 1, 1, 1, 1, 1))
    run(
        'sigmoid_focal_loss',
        lambda: O.sigmoid_focal_loss(torch.randn(
            30, 5), torch.randint(0, 5, (30, )), 2.0, 0.25, None, 'none'))
    run('bbox_overlaps', lambda: O.bbox_overlaps(boxes[:30], boxes[30:70]))
    run('psa_mask', lambda: O.PSAMask('collect', (5, 5))
        (torch.randn(1, 25, 6, 6)))
    torch.randn(1, 16, 2, 4)  # unused; drawn so later inputs stay the same
    ss = torch.tensor([[4, 4], [2, 2]])
    lsi = torch.tensor([0, 16])
    loc = torch.rand(1, 5, 2, 2, 2, 2)
    aw = torch.rand(1, 5, 2, 2, 2).softmax(-1)
    run(
        'ms_deform_attn',
        lambda: __import__('mmcv.ops.multi_scale_deform_attn', fromlist=['x']
                           ).MultiScaleDeformableAttnFunction.apply(
                               torch.randn(1, 20, 2, 4), ss, lsi, loc, aw, 64))
    run('upfirdn2d', lambda: O.upfirdn2d(feat.detach(),
                                         torch.ones(3, 3) / 9, 2, 1, (1, 1)))
    pts = torch.rand(1, 100, 3) * 10
    run(
        'points_in_boxes_cpu', lambda: O.points_in_boxes_cpu(
            pts, torch.tensor([[[3., 3., 0., 4., 4., 6., 0.2]]])))
    run(
        'voxelization', lambda: O.voxelization(
            torch.rand(300, 4) * 10, [1., 1., 1.], [0, 0, 0, 10, 10, 10], 5,
            100))
    run(
        'active_rotated_filter', lambda: O.active_rotated_filter(
            torch.randn(4, 2, 8, 3, 3),
            torch.randint(1, 72, (3, 3, 8, 8), dtype=torch.int32)))
    run(
        'rotated_feature_align',
        lambda: O.rotated_feature_align(feat.detach(),
                                        torch.rand(2, 16, 16, 5) * 4, 0.5, 1))
    run('min_area_polygons',
        lambda: O.min_area_polygons(torch.rand(5, 18) * 10))
    run('convex_iou',
        lambda: O.convex_iou(torch.rand(5, 18) * 10,
                             torch.rand(3, 8) * 10))
    return out


def compare(path_a, path_b):
    a = torch.load(path_a, weights_only=False)
    b = torch.load(path_b, weights_only=False)
    if a.keys() != b.keys():
        sys.exit(
            f'the two files probe different ops: {sorted(a.keys() ^ b.keys())}'
        )
    different = 0
    for name in a:
        x, y = a[name], b[name]
        if isinstance(x, str) or isinstance(y, str):
            same = x == y
        else:
            same = len(x) == len(y) and all(
                torch.equal(p, q) for p, q in zip(x, y))
        different += not same
        note = f'  ({x.splitlines()[0][:70]})' if isinstance(x, str) else ''
        print(f'{name:26s} {"identical" if same else "DIFFERENT"}{note}')
    print(f'{len(a) - different} identical, {different} different')
    return different


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument('--save', metavar='OUT', help='probe and save here')
    group.add_argument('--compare', nargs=2, metavar=('A', 'B'))
    args = parser.parse_args()
    if args.save:
        out = probe()
        torch.save(out, args.save)
        failed = [k for k, v in out.items() if isinstance(v, str)]
        print(f'{len(out) - len(failed)} ops ran; errors (kept for the '
              f'comparison): {failed}')
    else:
        sys.exit(1 if compare(*args.compare) else 0)


if __name__ == '__main__':
    main()
