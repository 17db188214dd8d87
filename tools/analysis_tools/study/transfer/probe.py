"""Does a scene detector learn? A short fine-tune, then its RoI head scored
on the validation garments' own boxes.

Box AP mixes the RPN, the RoI head and NMS; the training accuracy of a crowded
64-px scene is mostly background (docs/transfer_study.md). This tool asks the
narrower question: given the ground-truth box of each validation garment as
its proposal, does the RoI head name the garment's class (10 classes, chance
10 %)? It trains a scene config for ``--iters`` iterations (its own recipe,
schedule fitted as the transfer study fits it), then prints one line::

    probe <config> iters=200 gt_box_acc=41.2 loss=1.234 (first 50: 2.345)

and, with ``--test``, the test scenes' box and mask AP as the study scores
them (``probe test coco/bbox_mAP=... coco/segm_mAP=...``).

Any config part can be swapped with ``--cfg-options``, which is how the
diagnosis in docs/transfer_study.md was run, for example::

    CONFIG=configs/symmim/benchmarks/mask-rcnn_vit-tiny-p4_simple-fpn_\\
1xb8-800i_fmnist-scenes.py
    .venv/bin/python tools/analysis_tools/study/run.py probe $CONFIG \\
        --scenes ~/.cache/mmsymmim/transfer_study/scenes --iters 200 \\
        --cfg-options model.backbone.global_attn_indices="(0,1,2,3)"
"""
import argparse
import os.path as osp
import tempfile

import torch
from mmengine.config import DictAction

from .. import paths
from . import finetune as tf


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog='run.py probe',
                                description=__doc__.split('\n')[0])
    p.add_argument('config')
    p.add_argument('--scenes', required=True,
                   help='make_fmnist_scenes.py output (train and val; '
                   'test with --test)')
    p.add_argument('--checkpoint', default=None,
                   help='pretraining checkpoint (default: random init)')
    p.add_argument('--iters', type=int, default=200)
    p.add_argument('--val-scenes', type=int, default=200,
                   help='validation scenes scored (from the first)')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--threads', type=int, default=1)
    p.add_argument('--work-dir', default=None)
    p.add_argument('--test', action='store_true',
                   help="then score the test scenes as the study does (box "
                   "and mask AP) and print them")
    p.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = p.parse_args(argv)
    if args.iters < 1:
        p.error(f'--iters must be >= 1, got {args.iters}')
    if not osp.isfile(osp.join(args.scenes, 'annotations',
                               'instances_val.json')):
        p.error(f'--scenes {args.scenes}: no annotations/instances_val.json '
                '(make it with tools/dataset_converters/'
                'make_fmnist_scenes.py)')
    if args.test and not osp.isfile(osp.join(args.scenes, 'annotations',
                                             'instances_test.json')):
        p.error(f'--test: {args.scenes} has no annotations/'
                'instances_test.json to score (make_fmnist_scenes.py makes '
                'it)')
    return args


def gt_box_accuracy(model, loader, limit: int) -> float:
    """% of garments whose GT box the RoI head classifies correctly."""
    from mmdet.structures.bbox import bbox2roi
    model.eval()
    hit = seen = 0
    with torch.no_grad():
        for data in loader:
            data = model.data_preprocessor(data, False)
            samples = data['data_samples']
            feats = model.extract_feat(data['inputs'])
            boxes = [s.gt_instances.bboxes for s in samples]
            labels = torch.cat([s.gt_instances.labels for s in samples])
            scores = model.roi_head._bbox_forward(
                feats, bbox2roi(boxes))['cls_score']
            pred = scores[:, :-1].argmax(1)  # the last column: background
            hit += int((pred == labels).sum())
            seen += len(labels)
            limit -= len(samples)
            if limit <= 0:
                break
    return 100.0 * hit / max(seen, 1)


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    from mmengine.runner import Runner
    work = args.work_dir or tempfile.mkdtemp(prefix='transfer_probe_')
    job = dict(config=osp.relpath(osp.abspath(args.config), paths.REPO),
               iters=args.iters, seed=args.seed)
    cfg = tf.scene_config(job, osp.abspath(args.scenes), work,
                          args.checkpoint and osp.abspath(args.checkpoint))
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    cfg.resume = False
    cfg.default_hooks.checkpoint.interval = args.iters + 1
    cfg.default_hooks.logger.interval = 10
    runner = Runner.from_cfg(cfg)
    losses = []

    from mmengine.hooks import Hook

    class LossLog(Hook):

        def after_train_iter(self, runner, batch_idx, data_batch=None,
                             outputs=None):
            losses.append(float(outputs['loss']))

    runner.register_hook(LossLog())
    runner.train()
    acc = gt_box_accuracy(runner.model, runner.val_dataloader,
                          args.val_scenes)
    head = sum(losses[:50]) / len(losses[:50])
    tail = sum(losses[-50:]) / len(losses[-50:])
    print(f'probe {osp.basename(args.config)} iters={args.iters} '
          f'gt_box_acc={acc:.1f} loss={tail:.3f} (first 50: {head:.3f})',
          flush=True)
    if args.test:
        metrics = runner.test()
        print('probe test ' + ' '.join(
            f'{k}={float(v) * 100:.1f}' for k, v in metrics.items()
            if k.endswith('_mAP')), flush=True)
    return acc
