"""k-NN and linear-probe top-1 of a frozen encoder on a labelled data set.

    .venv/bin/python tools/knn_eval.py configs/demo/symmim_vit-tiny_fmnist.py \
        work_dirs/demo/iter_200.pth
    .venv/bin/python tools/knn_eval.py CONFIG --random-init   # the baseline

The model is built from CONFIG (any mmsymmim / mmpretrain self-supervised or
classifier config whose model has ``extract_feat``), the checkpoint loaded
with torch's safe loader, and ``extract_feat`` features (class token or
pooled map) of the bank and test sets are compared: weighted k-NN (cosine,
k = 20, T = 0.07) and a linear classifier on the frozen features. The data
defaults to Fashion-MNIST (bank: --bank-size train images; test: the 10,000
test images) resized to the config's input size.
"""
import argparse
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
    p.add_argument('--img-size', type=int, default=32)
    p.add_argument('--bank-size', type=int, default=10000)
    p.add_argument('--test-size', type=int, default=None)
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


def loader(split, n, args):
    dataset = dict(type='FashionMNISTIDX', split=split, indices=n,
                   pipeline=[dict(type='Resize', scale=(args.img_size, ) * 2),
                             dict(type='PackInputs')])
    if args.data_root:
        dataset['data_root'] = args.data_root
    return Runner.build_dataloader(dict(
        batch_size=500, num_workers=0, dataset=dataset,
        sampler=dict(type='DefaultSampler', shuffle=False),
        collate_fn=dict(type='default_collate')))


def main(argv=None):
    args = parse_args(argv)
    import mmsymmim  # noqa: F401
    from mmpretrain.registry import MODELS
    from mmsymmim.evaluation import (extract_features, knn_predict,
                                     linear_probe_accuracy)
    cfg = Config.fromfile(args.config)
    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    torch.manual_seed(args.seed)
    model = MODELS.build(cfg.model)
    model.init_weights()
    if args.checkpoint:
        load_checkpoint(model, args.checkpoint, map_location='cpu')
    bank, bank_y = extract_features(model, loader('train', args.bank_size,
                                                  args))
    test, test_y = extract_features(model, loader('test', args.test_size,
                                                  args))
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
