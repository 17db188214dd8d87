"""Small-scale study at equal wall clock: SymMIM (both encoder paths, board
vs random mask), MAE, MoCo v3, MoCo v2 vs MixMask, random init and raw pixels
on Fashion-MNIST, scored by k-NN, linear probe and 1 %-label fine-tuning.

    .venv/bin/python tools/analysis_tools/small_scale_study.py --tune         # seed 0 grid
    .venv/bin/python tools/analysis_tools/small_scale_study.py --seeds 0 1 2  # the table

Every trained row gets the same wall-clock budget (``--budget-s``) for its
training loop: a calibration burst (``--warmup-iters`` untimed, then
``--calib-iters`` timed, in the process that then trains) measures s/iter,
the row trains for ``(budget - start-up) / (s/iter)`` iterations with the
warm-up + cosine schedule fitted to them, and the time the loop actually took
is reported (a warning if it is more than 10 % off the budget). Run on an
otherwise idle machine, one row at a time: contention changes s/iter.

Metrics on the frozen encoder (ViT: class token after the final norm, loaded
into mmpretrain's VisionTransformer; ResNet: pooled last stage; raw-pixels:
the normalised pixels): weighted k-NN (k = 20, T = 0.07, bank = the 60,000
train images, queries = the 10,000 test images), a linear probe fitted on the
60,000 train features, and end-to-end fine-tuning on 600 labels (60 a class,
fixed by --ft-subset-seed) with one schedule for every row. ``--tune`` runs
on seed 0 and scores on a validation split (linear probe fitted on train
images 0-49,999, scored on 50,000-59,999), never on the test set. Results go
to JSON (atomic writes), and row/seed pairs already there are skipped.
"""
import argparse
import copy
import gc
import json
import os.path as osp
import subprocess
import sys
import time

import mmengine
import torch
import torch.nn.functional as F

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
import study_rows as sr  # noqa: E402

OUT = osp.join(sr.REPO, 'docs/small_scale_study_equal_time.json')
NUM_CLASSES = 10


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--rows', nargs='+', default=list(sr.ROWS), choices=sr.ROWS)
    p.add_argument('--seeds', nargs='+', type=int, default=[0, 1, 2])
    p.add_argument('--budget-s', type=float, default=300.)
    p.add_argument('--warmup-iters', type=int, default=3)
    p.add_argument('--calib-iters', type=int, default=12)
    p.add_argument('--tune', action='store_true',
                   help='try the knob grid on seed 0, then stop')
    p.add_argument('--tune-grid', choices=('coordinate', 'full'),
                   default='coordinate')
    p.add_argument('--ft-per-class', type=int, default=60)
    p.add_argument('--ft-epochs', type=int, default=30)
    p.add_argument('--ft-subset-seed', type=int, default=0)
    p.add_argument('--linear-epochs', type=int, default=300)
    p.add_argument('--linear-lr', type=float, default=0.03)
    p.add_argument('--threads', type=int, default=0,
                   help="torch threads per run (0: torch's default)")
    p.add_argument('--smoke', action='store_true',
                   help='seconds-long: 3 s budget, batch 16, 600 bank / 300 '
                   'test images, 10 labels a class, 1 fine-tune epoch, '
                   '1 thread')
    p.add_argument('--work-dir', default=None)
    p.add_argument('--results', default=None, help=f'JSON (default {OUT})')
    p.add_argument('--job', help=argparse.SUPPRESS)  # internal: one run
    p.add_argument('--job-out', help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.smoke:
        args.budget_s, args.warmup_iters, args.calib_iters = 3., 1, 2
        args.ft_per_class, args.ft_epochs, args.threads = 10, 1, 1
    if args.warmup_iters < 1 or args.calib_iters < 1:
        p.error('--warmup-iters and --calib-iters must be at least 1')
    small = 'work_dirs/small_scale_smoke' if args.smoke else None
    args.work_dir = args.work_dir or osp.join(
        sr.REPO, small or 'work_dirs/small_scale_equal_time')
    args.results = args.results or (
        osp.join(args.work_dir, 'results.json') if args.smoke else OUT)
    return args


def protocol(args) -> dict:
    """What makes two runs comparable (a results file holds one)."""
    keys = ('budget_s', 'warmup_iters', 'calib_iters', 'ft_per_class',
            'ft_epochs', 'ft_subset_seed', 'linear_epochs', 'linear_lr',
            'threads', 'smoke')
    return {k: getattr(args, k) for k in keys}


# ------------------------------------------------------------------- data
def load_split(split: str, n=None):
    """uint8 images ``(N, 1, 28, 28)`` and labels of Fashion-MNIST."""
    from mmsymmim.datasets.fashion_mnist import DEFAULT_ROOT, FILES, read_idx
    img, lab = (osp.join(DEFAULT_ROOT, f) for f in FILES[split])
    x = torch.from_numpy(read_idx(img, 16).reshape(-1, 1, 28, 28).copy())
    y = torch.from_numpy(read_idx(lab, 8).astype('int64'))
    return x[:n], y[:n]


def prepare(x: torch.Tensor) -> torch.Tensor:
    """uint8 batch -> the encoders' input: 32 px (bilinear, as the demo's
    Resize), normalised with the demo's mean / std, grey to 3 channels."""
    x = F.interpolate(x.float(), size=(32, 32), mode='bilinear',
                      align_corners=False)
    return ((x - 72.9) / 90.0).expand(-1, 3, -1, -1)


# ---------------------------------------------------------------- training
def _clock():
    from mmengine.hooks import Hook

    class Clock(Hook):
        """Wall time at the start of training and after every iteration."""
        priority = 'LOWEST'

        def before_train(self, runner):
            self.start, self.ends = time.perf_counter(), []

        def after_train_iter(self, runner, batch_idx, data_batch=None,
                             outputs=None):
            self.ends.append(time.perf_counter())

        def after_train(self, runner):
            self.stop = time.perf_counter()

    return Clock()


def _train(cfg, work_dir, name, iters):
    from mmengine.runner import Runner
    cfg = copy.deepcopy(cfg)
    sr.fit_schedule(cfg, iters)
    cfg.work_dir, cfg.experiment_name = work_dir, name
    cfg.default_hooks.logger.interval = 50
    runner = Runner.from_cfg(cfg)
    clock = _clock()
    runner.register_hook(clock)
    runner.train()
    del runner
    gc.collect()  # ends the loader's persistent workers before the next run
    return clock


def train_budget(job, args) -> dict:
    """Calibrate s/iter, then train for the budget, in this process."""
    from mmsymmim.datasets import check_train_data
    cfg = sr.row_config(job['row'], job['knobs'])
    cfg.randomness = dict(seed=job['seed'])
    if args.smoke:
        cfg.train_dataloader.update(batch_size=16, num_workers=0,
                                    persistent_workers=False)
        cfg.train_dataloader.dataset.indices = 2000
        if 'queue_len' in cfg.model:
            cfg.model.queue_len = 64
    check_train_data(cfg)
    work = osp.join(args.work_dir, job['tag'])
    n_cal = args.warmup_iters + args.calib_iters
    cal_cfg = copy.deepcopy(cfg)
    cal_cfg.default_hooks.checkpoint = None
    c = _train(cal_cfg, osp.join(work, 'calib'), job['tag'] + '_calib', n_cal)
    w = args.warmup_iters
    s_iter = (c.ends[-1] - c.ends[w - 1]) / args.calib_iters
    startup = max(0., (c.ends[w - 1] - c.start) - w * s_iter)
    iters = max(2, int((args.budget_s - startup) / s_iter))
    cfg.default_hooks.checkpoint.interval = iters
    t = _train(cfg, work, job['tag'], iters)
    train_s = t.stop - t.start
    off = abs(train_s - args.budget_s) / args.budget_s
    if off > 0.1:
        print(f'WARNING: {job["tag"]}: training took {train_s:.1f} s for a '
              f'{args.budget_s:.0f} s budget ({off:.0%} off; calibrated '
              f'{s_iter:.3f} s/iter): the machine was busy, or the budget is '
              f'too short for the start-up and the checkpoint',
              flush=True)
    return dict(iters=iters, s_per_iter=round(s_iter, 4),
                startup_s=round(startup, 2), train_s=round(train_s, 1),
                within_10pct=off <= 0.1,
                checkpoint=osp.join(work, f'iter_{iters}.pth'))


# -------------------------------------------------------------- evaluation
def encoder(job, args):
    """The frozen encoder of a job: trained checkpoint or seeded init."""
    from mmsymmim.evaluation.finetune import RawPixels, load_backbone
    row = sr.ROWS[job['row']]
    if row.family == 'pixels':
        return RawPixels(channels=1)
    if row.train:
        return load_backbone(sr.eval_backbone(job['row']), job['checkpoint'])
    from mmpretrain.registry import MODELS
    torch.manual_seed(job['seed'])  # the pretraining init of the family
    init = MODELS.build(sr.row_config(job['row']).model.backbone)
    init.init_weights()
    path = osp.join(args.work_dir, job['tag'], 'init.pth')
    mmengine.mkdir_or_exist(osp.dirname(path))
    torch.save(dict(state_dict={'backbone.' + k: v
                                for k, v in init.state_dict().items()}), path)
    return load_backbone(sr.eval_backbone(job['row']), path)


def evaluate(job, args) -> dict:
    from mmsymmim.evaluation import knn_predict, linear_probe_accuracy
    from mmsymmim.evaluation.finetune import (balanced_subset, encode,
                                              finetune_accuracy)
    t0 = time.perf_counter()
    net = encoder(job, args)
    n_bank, n_test = (600, 300) if args.smoke else (None, None)
    train_x, train_y = load_split('train', n_bank)
    feats = encode(net, train_x, prepare=prepare)
    out = {}
    if job['mode'] == 'tune':  # validation split of the train images
        n_fit = len(train_x) * 5 // 6
        fx, fy, qx, qy = feats[:n_fit], train_y[:n_fit], feats[n_fit:], \
            train_y[n_fit:]
        prefix = 'val_'
    else:
        test_x, test_y = load_split('test', n_test)
        fx, fy, qx, qy = feats, train_y, encode(net, test_x,
                                                prepare=prepare), test_y
        prefix = ''
    pred = knn_predict(fx, fy, qx, NUM_CLASSES, k=20, temperature=0.07)
    out[prefix + 'knn'] = round((pred == qy).float().mean().item() * 100, 2)
    out[prefix + 'linear'] = round(linear_probe_accuracy(
        fx, fy, qx, qy, NUM_CLASSES, epochs=args.linear_epochs,
        lr=args.linear_lr, seed=job['seed']), 2)
    if job['mode'] == 'main':
        idx = balanced_subset(train_y, args.ft_per_class, args.ft_subset_seed)
        out['finetune'] = round(finetune_accuracy(
            net, train_x[idx], train_y[idx], test_x, test_y, NUM_CLASSES,
            epochs=args.ft_epochs, prepare=prepare, seed=job['seed']), 2)
    out['eval_s'] = round(time.perf_counter() - t0, 1)
    return out


def run_job(job, args) -> dict:
    import mmsymmim  # noqa: F401  (registers modules, compat fixes)
    from mmengine.registry import init_default_scope
    init_default_scope('mmpretrain')
    if args.threads:
        torch.set_num_threads(args.threads)
    res = dict(job, threads=torch.get_num_threads())
    if sr.ROWS[job['row']].train:
        res.update(train_budget(job, args))
        job = dict(job, checkpoint=res['checkpoint'])
    else:
        res.update(iters=0, train_s=0.)
    res.update(evaluate(job, args))
    return res


def spawn(job, args) -> dict:
    """One run in a fresh process (no state leaks between rows)."""
    path = osp.join(args.work_dir, job['tag'], 'result.json')
    flags = [f'--{k.replace("_", "-")}={v}'
             for k, v in protocol(args).items() if k != 'smoke']
    cmd = [sys.executable, osp.abspath(__file__), '--job', json.dumps(job),
           '--job-out', path, '--work-dir', args.work_dir, '--results',
           args.results, *flags] + (['--smoke'] if args.smoke else [])
    proc = subprocess.run(cmd, cwd=sr.REPO, capture_output=True, text=True)
    for line in proc.stdout.splitlines():
        if line.startswith('WARNING'):
            print(line, flush=True)
    if proc.returncode:
        raise RuntimeError(f'{job["tag"]} failed:\n{proc.stderr[-3000:]}')
    with open(path) as f:
        return json.load(f)


# ----------------------------------------------------------- orchestration
def run_or_skip(results, key, job, args):
    hit = [r for r in results[key] if all(r[k] == job[k]
                                          for k in ('row', 'seed', 'knobs'))]
    if hit:
        return hit[0]
    res = spawn(job, args)
    print(json.dumps({k: v for k, v in res.items()
                      if k not in ('checkpoint', 'tag', 'mode')}), flush=True)
    results[key].append(res)
    mmengine.dump(results, args.results, indent=1)  # atomic (mmsymmim.compat)
    return res


def main(argv=None):
    args = parse_args(argv)
    if args.job:
        res = run_job(json.loads(args.job), args)
        mmengine.dump(res, args.job_out, indent=1)
        return res
    import mmsymmim  # noqa: F401  (atomic mmengine.dump)
    mmengine.mkdir_or_exist(args.work_dir)
    results = dict(protocol=protocol(args), runs=[], tune=[])
    if osp.exists(args.results):
        results = mmengine.load(args.results)
        if results['protocol'] != protocol(args):
            raise SystemExit(
                f'{args.results} holds runs of another protocol '
                f'{results["protocol"]}; pass another --results')

    def job(row, seed, knobs, mode):
        tag = f'{mode}_{row}_s{seed}_' + sr.knob_tag(knobs).replace(',', '_')
        return dict(row=row, seed=seed, knobs=knobs, mode=mode, tag=tag)

    if args.tune:
        for row in (r for r in args.rows if sr.ROWS[r].knobs):
            sr.tune_trials(row, lambda k, row=row: run_or_skip(
                results, 'tune', job(row, 0, k, 'tune'), args)['val_linear'],
                args.tune_grid)
    else:
        for seed in args.seeds:
            for row in args.rows:
                knobs = sr.best_knobs(results, row)
                run_or_skip(results, 'runs', job(row, seed, knobs, 'main'),
                            args)
    print(sr.table(results, args.rows))
    return results


if __name__ == '__main__':
    main()
