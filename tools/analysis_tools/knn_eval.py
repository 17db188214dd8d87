"""k-NN and linear-probe top-1 of a frozen encoder on a labelled data set.

    .venv/bin/python tools/analysis_tools/knn_eval.py \
        configs/symmim/symmim_vit-tiny-p4_1xb128-400i_fmnist.py \
        work_dirs/demo/iter_400.pth
    .venv/bin/python tools/analysis_tools/knn_eval.py CONFIG \
        --random-init   # the baseline

The model is built from CONFIG (any mmsymmim / mmpretrain self-supervised or
classifier config whose model has ``extract_feat``), the checkpoint loaded
with torch's safe loader, and ``extract_feat`` features (class token or
pooled map) of the bank and test sets are compared: weighted k-NN (cosine,
k = 20, T = 0.07) and a linear classifier on the frozen features. The data,
its pipeline and image size are the config's own: the ``bank_dataloader``
and ``test_dataloader`` of its ``KNNEvalHook`` (``--bank-size`` /
``--test-size`` take the first N images of each; ``--data-root`` points both
elsewhere).
"""
import argparse
import copy
import json

import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner
from mmengine.runner.checkpoint import load_checkpoint


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('config')
    p.add_argument('checkpoint', nargs='?')
    p.add_argument('--random-init', action='store_true',
                   help='evaluate the randomly initialised encoder')
    p.add_argument('--bank-size', type=int, default=None,
                   help="first N bank images (default: the config's)")
    p.add_argument('--test-size', type=int, default=None,
                   help="first N test images (default: the config's)")
    p.add_argument('--data-root', default=None)
    p.add_argument('--k', type=int, default=20)
    p.add_argument('--temperature', type=float, default=0.07)
    p.add_argument('--no-linear', action='store_true')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--out', help='write the result as JSON here')
    args = p.parse_args(argv)
    if bool(args.checkpoint) == args.random_init:
        p.error('give a checkpoint or --random-init (not both)')
    return args


def loaders(cfg, args):
    """The bank and test loaders of the config's ``KNNEvalHook``."""
    hooks = [h for h in cfg.get('custom_hooks', [])
             if h.get('type') == 'KNNEvalHook']
    if not hooks:
        raise SystemExit(
            f'error: {args.config} has no KNNEvalHook in custom_hooks to take '
            f'the labelled bank and test sets from; add one (see '
            f'configs/_base_/fmnist_demo.py)')
    out = []
    for key, n in (('bank_dataloader', args.bank_size),
                   ('test_dataloader', args.test_size)):
        loader = copy.deepcopy(hooks[0][key])
        if n is not None:
            loader['dataset']['indices'] = n
        if args.data_root:
            loader['dataset']['data_root'] = args.data_root
        out.append(Runner.build_dataloader(loader))
    return out


def main(argv=None):
    args = parse_args(argv)
    import mmsymmim  # noqa: F401
    from mmpretrain.registry import MODELS
    from mmsymmim.evaluation import (
        extract_features,
        knn_predict,
        linear_probe_accuracy,
    )
    cfg = Config.fromfile(args.config)
    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    torch.manual_seed(args.seed)
    if cfg.get('data_preprocessor') is not None:  # as mmengine's Runner does
        cfg.model.setdefault('data_preprocessor', cfg.data_preprocessor)
    model = MODELS.build(cfg.model)
    model.init_weights()
    if args.checkpoint:
        load_checkpoint(model, args.checkpoint, map_location='cpu')
    bank_loader, test_loader = loaders(cfg, args)
    bank, bank_y = extract_features(model, bank_loader)
    test, test_y = extract_features(model, test_loader)
    num_classes = int(max(bank_y.max(), test_y.max())) + 1
    pred = knn_predict(bank, bank_y, test, num_classes, args.k,
                       args.temperature)
    result = dict(
        checkpoint=args.checkpoint or 'random init',
        bank=len(bank), test=len(test), k=args.k,
        knn_top1=round((pred == test_y).float().mean().item() * 100, 2))
    if not args.no_linear:
        result['linear_top1'] = round(linear_probe_accuracy(
            bank, bank_y, test, test_y, num_classes, seed=args.seed), 2)
    print(json.dumps(result))
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(result, f, indent=2)
    return result


if __name__ == '__main__':
    main()
