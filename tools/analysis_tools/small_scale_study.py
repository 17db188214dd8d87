"""Small-scale evidence on real images: does symmetric masking beat random
masking and plain MoCo at equal budget? Does MixMask beat MoCo v2?

Every run pretrains on the 60,000 Fashion-MNIST training images (no labels)
with tools/train.py and reports weighted k-NN top-1 (k = 20, cosine, T = 0.07)
of the frozen encoder on the 10,000 test images, bank = the first 10,000
training images. Rows share the model, data, optimiser, schedule and number
of iterations; the seeds change the initialisation, augmentation and masks.

    .venv/bin/python tools/analysis_tools/small_scale_study.py --seeds 0 1 2 --out docs/small_scale_study.md

Rows (ViT: width 128, depth 4, patch 4, 32 px, batch 128):
  symmim          SymMIM as in the demo (fine board online, 2x2 blocks EMA)
  simmim-r0.5     same, online mask random (mmpretrain's SimMIMMaskGenerator,
                  8-px mask patches) at ratio 0.5
  simmim-r0.6     same at ratio 0.6
  mocov3          mmpretrain's MoCoV3 on the same ViT (no MIM, no masks)
  mim-only        SymMIM with w_con = 0 (the EMA branch runs, unused)
ResNet rows (CIFAR-stem ResNet-18, 16 base channels, batch 128):
  mocov2          mmpretrain's MoCo v2
  mixmask-mocov2  MixMask on MoCo v2 (one extra forward of the mixed view)
"""
import argparse
import json
import os
import os.path as osp
import statistics
import subprocess
import sys
import time

import mmengine

import mmsymmim  # noqa: F401  (compat: atomic local writes)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
VIT_DEMO = osp.join(REPO, 'configs/symmim/symmim_vit-tiny-p4_1xb128-200i_fmnist.py')
RES_DEMO = osp.join(REPO, 'configs/mixmask/mixmask-mocov2_resnet18-tiny_1xb128-400i_fmnist.py')

SCHEDULE = '''
max_iters = {iters}
warmup = max(1, max_iters // 10)
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0,
         end=warmup),
    dict(type='CosineAnnealingLR', T_max=max_iters - warmup,
         by_epoch=False, begin=warmup, end=max_iters),
]
default_hooks = dict(checkpoint=dict(interval=max_iters))
'''
SIMMIM_PIPELINE = '''
_v = [dict(type='RandomResizedCrop', scale=32, crop_ratio_range=(0.35, 1.)),
      dict(type='RandomFlip', prob=0.5)]
train_dataloader = dict(dataset=dict(pipeline=[
    dict(type='MultiView', num_views=2, transforms=[_v]),
    dict(type='SymmetricMaskGenerator', input_size=32, model_patch_size=4,
         scale=1, ema_scale=2),
    # replaces the online mask by a random one, shared by both views
    dict(type='SimMIMMaskGenerator', input_size=32, mask_patch_size=8,
         model_patch_size=4, mask_ratio={ratio}),
    dict(type='PackInputs', algorithm_keys=['ema_mask']),
]))
'''
MOCOV3 = '''
_v = [dict(type='RandomResizedCrop', scale=32, crop_ratio_range=(0.35, 1.)),
      dict(type='RandomFlip', prob=0.5)]
train_dataloader = dict(dataset=dict(pipeline=[
    dict(type='MultiView', num_views=2, transforms=[_v]),
    dict(type='PackInputs'),
]))
model = dict(
    _delete_=True,
    type='MoCoV3',
    data_preprocessor={{_base_.model.data_preprocessor}},
    base_momentum=0.01,
    backbone=dict(type='MoCoV3ViT', arch={{_base_.model.backbone.arch}},
                  img_size=32, patch_size=4),
    neck={{_base_.model.neck}},
    head={{_base_.model.head}})
'''
MOCOV2 = '''
model = dict(
    _delete_=True,
    type='MoCo',
    data_preprocessor={{_base_.model.data_preprocessor}},
    queue_len={{_base_.model.queue_len}},
    feat_dim={{_base_.model.feat_dim}},
    momentum={{_base_.model.momentum}},
    backbone={{_base_.model.backbone}},
    neck={{_base_.model.neck}},
    head={{_base_.model.head}})
'''
ROWS = {
    'symmim': (VIT_DEMO, ''),
    'simmim-r0.5': (VIT_DEMO, SIMMIM_PIPELINE.format(ratio=0.5)),
    'simmim-r0.6': (VIT_DEMO, SIMMIM_PIPELINE.format(ratio=0.6)),
    'mocov3': (VIT_DEMO, MOCOV3),
    'mim-only': (VIT_DEMO, 'model = dict(con_loss_weight=0.0)\n'),
    'mocov2': (RES_DEMO, MOCOV2),
    'mixmask-mocov2': (RES_DEMO, ''),
}


def write_config(folder, row, iters):
    base, body = ROWS[row]
    path = osp.join(folder, f'{row}.py')
    with open(path, 'w') as f:
        f.write(f"_base_ = '{base}'\n{body}{SCHEDULE.format(iters=iters)}")
    return path


def run(row, seed, iters, folder, eval_before):
    cfg = write_config(folder, row, iters)
    work = osp.join(folder, f'{row}_seed{seed}')
    cmd = [sys.executable, osp.join(REPO, 'tools/train.py'), cfg,
           '--work-dir', work, '--cfg-options', f'randomness.seed={seed}',
           f'custom_hooks.0.eval_before={eval_before}',
           'default_hooks.logger.interval=50']
    t0 = time.time()
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    wall = time.time() - t0
    if proc.returncode:
        raise RuntimeError(f'{row} seed {seed} failed:\n{proc.stderr[-3000:]}')
    with open(osp.join(work, 'knn.json')) as f:
        top1 = json.load(f)['top1']
    return dict(row=row, seed=seed, iters=iters, wall_s=round(wall, 1),
                knn=top1[f'after {iters} iters'],
                random_init=top1.get('random init'))


def table(results, args):
    lines = ['| method | encoder | iters | k-NN top-1 (%) mean ± std | '
             'seeds | per-seed | wall s / run |', '|---|---|---|---|---|---|---|']
    inits = {}
    for row in args.rows:
        rs = [r for r in results if r['row'] == row]
        if not rs:
            continue
        accs = [r['knn'] for r in rs]
        std = statistics.stdev(accs) if len(accs) > 1 else 0.0
        enc = 'ResNet-18/16' if ROWS[row][0] == RES_DEMO else 'ViT 128x4'
        lines.append(
            f'| {row} | {enc} | {rs[0]["iters"]} | '
            f'{statistics.mean(accs):.2f} ± {std:.2f} | {len(accs)} | '
            + ', '.join(f'{a:.2f}' for a in accs) +
            f' | {statistics.mean(r["wall_s"] for r in rs):.0f} |')
        for r in rs:
            if r['random_init'] is not None:
                inits.setdefault(enc, []).append(r['random_init'])
    for enc, accs in inits.items():
        lines.append(f'| random init | {enc} | 0 | '
                     f'{statistics.mean(accs):.2f} ± '
                     f'{statistics.stdev(accs) if len(accs) > 1 else 0:.2f} '
                     f'| {len(accs)} | ' + ', '.join(f'{a:.2f}' for a in accs)
                     + ' | |')
    return '\n'.join(lines)


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--rows', nargs='+', default=list(ROWS), choices=ROWS)
    p.add_argument('--seeds', nargs='+', type=int, default=[0, 1, 2])
    p.add_argument('--vit-iters', type=int, default=120)
    p.add_argument('--resnet-iters', type=int, default=300)
    p.add_argument('--work-dir', default=osp.join(REPO, 'work_dirs/small_scale'))
    p.add_argument('--results', default=osp.join(
        REPO, 'docs/small_scale_study.json'))
    args = p.parse_args()
    os.makedirs(args.work_dir, exist_ok=True)
    results = []
    if osp.exists(args.results):
        with open(args.results) as f:
            results = json.load(f)
    first_of_family = {  # the random-init k-NN once per family
        demo: next((r for r in args.rows if ROWS[r][0] == demo), None)
        for demo in (VIT_DEMO, RES_DEMO)}
    for seed in args.seeds:
        for row in args.rows:
            if any(r['row'] == row and r['seed'] == seed for r in results):
                continue
            iters = (args.resnet_iters
                     if ROWS[row][0] == RES_DEMO else args.vit_iters)
            eval_before = first_of_family.get(ROWS[row][0]) == row
            res = run(row, seed, iters, args.work_dir, eval_before)
            print(json.dumps(res), flush=True)
            results.append(res)
            mmengine.dump(results, args.results, indent=1)  # atomic
    print(table(results, args))


if __name__ == '__main__':
    main()
