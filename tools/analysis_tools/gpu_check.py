"""The prepared GPU check (issue 41): four bounded steps, results kept as
each finishes. Run it through ``tools/gpu_check.sh`` (installs the carried
wheels on a bare GPU machine first)::

    bash tools/gpu_check.sh                       # GPU: real sizes, bf16
    bash tools/gpu_check.sh --device cpu --tiny   # here: every step, tiny

Steps, in this order, each a process of its own (gpu_check_steps.py) killed
at its time limit: its budget (``BUDGETS``) plus what the steps before it left
unused, never past ``--total`` seconds in all:

a) benchmark_throughput.py on the device, batch 128, bf16 + fused AdamW:
   SymMIM ViT-B/16 default, ``symmetric=True``, the mask-token path, MoCo v3,
   MAE: img/s, ms/step, peak memory, GFLOP/img, fraction of the measured bf16
   matmul ceiling;
b) every pretraining config 2 iterations with its own optimiser wrapper
   (gpu_check_configs.py): wrapper, losses, finite or not;
c) DeviceViewAugment's share of a SymMIM ViT-B step (the *_device-aug_*
   config), and the loader's img/s per worker against the step's need;
d) SymMIM ViT-B with and without ``torch.compile`` (backbone and EMA copy,
   ``forward`` and ``forward_visible``): first step, steady-state step.

Writes ``gpu_check.md`` (a table per step; GPU, driver, torch, CUDA),
``gpu_check.json`` and ``gpu_check.log`` (the steps' output) under ``$OUT``
when set, else under ``--out`` (default work_dirs/gpu_check/), after every
step. A step cut by its limit keeps the rows it finished and is marked cut.
"""
import argparse
import datetime
import json
import os
import os.path as osp
import platform
import signal
import subprocess
import sys
import tempfile
import time

HERE = osp.dirname(osp.abspath(__file__))
REPO = osp.dirname(osp.dirname(HERE))
STEPS_PY = osp.join(HERE, 'gpu_check_steps.py')
# key, title, seconds (440 in all: the 8-minute run's set-up takes the rest)
BUDGETS = (
    ('a', 'Throughput: SymMIM against MoCo v3 and MAE (ViT-B/16)', 100),
    ('b', 'Every pretraining config, 2 iterations', 140),
    ('c', 'Device augmentation and the loader', 60),
    ('d', 'torch.compile on SymMIM ViT-B', 140),
)
MIN_STEP_S = 10  # a step given less than this is skipped, not started


def run_bounded(cmd, limit, log_path, env=None):
    """Run ``cmd`` (its own process group) for at most ``limit`` seconds;
    ``(status, seconds)``, status 'ok', 'failed (exit N)' or 'cut at N s'."""
    t0 = time.monotonic()
    with open(log_path, 'w') as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                env=env, cwd=REPO, start_new_session=True)
        try:
            rc = proc.wait(timeout=limit)
            status = 'ok' if rc == 0 else f'failed (exit {rc})'
        except subprocess.TimeoutExpired:
            for sig, grace in ((signal.SIGTERM, 3), (signal.SIGKILL, None)):
                try:
                    os.killpg(proc.pid, sig)
                    proc.wait(timeout=grace)
                    break
                except (subprocess.TimeoutExpired, ProcessLookupError):
                    continue
            proc.wait()
            status = f'cut at {limit:.0f} s'
    return status, time.monotonic() - t0


def tail(path, lines=25):
    try:
        with open(path, errors='replace') as f:
            return ''.join(f.readlines()[-lines:])
    except OSError:
        return ''


def run_check(steps, command, out, scratch, total, meta, env=None,
              min_step=MIN_STEP_S):
    """Run ``steps`` ((key, title, budget) ...) in order, each as
    ``command(key, part_path)`` for at most the time left of ``total`` less
    the budgets of the steps after it; write the report under ``out`` after
    each. Returns it."""
    report = dict(meta=meta, steps={})
    deadline = time.monotonic() + total
    os.makedirs(out, exist_ok=True)
    for i, (key, title, budget) in enumerate(steps):
        later = sum(b for _, _, b in steps[i + 1:])
        limit = deadline - time.monotonic() - later
        part, log = (osp.join(scratch, f'step_{key}.{x}')
                     for x in ('json', 'log'))
        entry = dict(title=title, budget_s=round(limit, 1), rows=[],
                     notes={})
        if limit < min_step:
            entry.update(status='skipped: no time left', seconds=0)
        else:
            status, secs = run_bounded(command(key, part), limit, log, env)
            entry.update(status=status, seconds=round(secs, 1))
            if osp.exists(part):
                with open(part) as f:
                    entry.update(json.load(f))
            if status != 'ok':
                entry['log_tail'] = tail(log)
            with open(osp.join(out, 'gpu_check.log'), 'a') as f:
                f.write(f'===== step {key}: {title} ({status}) =====\n')
                f.write(open(log, errors='replace').read())
        report['steps'][key] = entry
        write_report(report, out)
    return report


def fmt(v):
    if isinstance(v, float):
        return f'{v:.0f}' if abs(v) >= 1000 else f'{v:.4g}'
    return '-' if v is None else str(v).replace('|', '/')


def table(rows):
    cols = list(dict.fromkeys(k for r in rows for k in r))
    return ['| ' + ' | '.join(cols) + ' |', '|' + '---|' * len(cols)] + [
        '| ' + ' | '.join(fmt(r.get(c)) for c in cols) + ' |' for r in rows]


def with_ratios(rows):
    """Step a: img/s and GFLOP/img as multiples of MoCo v3's."""
    base = next((r for r in rows if r.get('model') == 'mocov3_vit-b'), None)
    if not base or not base.get('img_s') or not base.get('gflop_img'):
        return rows
    return [dict(r, img_s_x_mocov3=r['img_s'] / base['img_s'] if r.get(
        'img_s') else None, gflop_x_mocov3=r['gflop_img'] /
        base['gflop_img'] if r.get('gflop_img') else None) for r in rows]


def write_report(report, out):
    m = report['meta']
    lines = ['# GPU check', '', f"Device: **{m['device_name']}**; "
             f"driver {m['driver']}; torch {m['torch']}, CUDA {m['cuda']}, "
             f"cuDNN {m['cudnn']}; Python {m['python']}; "
             + ', '.join(f'{k} {v}' for k, v in m['packages'].items()), '',
             f"Started {m['started']}; `{m['command']}`; tiny={m['tiny']}; "
             f"total budget {m['total_s']} s.", '']
    for key, s in report['steps'].items():
        lines += [f"## {key}) {s['title']}", '',
                  f"Status: **{s['status']}** ({s['seconds']} s of "
                  f"{s['budget_s']} s); {len(s['rows'])} row(s).", '']
        lines += [f'- {k}: {v}' for k, v in s['notes'].items()]
        rows = with_ratios(s['rows']) if key == 'a' else s['rows']
        lines += ([''] if s['notes'] else []) + (table(rows) if rows else [])
        if s.get('log_tail'):
            lines += ['', 'Log tail:', '', '```', s['log_tail'].rstrip(),
                      '```']
        lines.append('')
    for name, text in (('gpu_check.md', '\n'.join(lines)),
                       ('gpu_check.json', json.dumps(report, indent=1))):
        with open(osp.join(out, name + '.tmp'), 'w') as f:
            f.write(text)
        os.replace(osp.join(out, name + '.tmp'), osp.join(out, name))


def meta_info(args):
    """Device, driver, versions (imports torch; not the OpenMMLab stack)."""
    import importlib.metadata as md

    import torch
    gpu = args.device.startswith('cuda') and torch.cuda.is_available()
    try:
        driver = subprocess.run(
            ['nvidia-smi', '--query-gpu=driver_version', '--format=csv,'
             'noheader'], capture_output=True, text=True,
            timeout=20).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        driver = None
    packages = {}
    for name in ('mmengine', 'mmcv', 'mmcv-lite', 'mmpretrain', 'kornia'):
        try:
            packages[name] = md.version(name)
        except md.PackageNotFoundError:
            pass
    return dict(
        device_name=(f'{torch.cuda.get_device_name()} '
                     f'(x{torch.cuda.device_count()})' if gpu else
                     f'CPU ({platform.processor() or platform.machine()}, '
                     f'{os.cpu_count()} cores)'),
        driver=driver, torch=torch.__version__, cuda=torch.version.cuda,
        cudnn=torch.backends.cudnn.version(), python=platform.python_version(),
        packages=packages, tiny=args.tiny, total_s=args.total,
        started=datetime.datetime.now(datetime.timezone.utc).strftime(
            '%Y-%m-%d %H:%M UTC'),
        command='tools/gpu_check.sh ' + ' '.join(sys.argv[1:]))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--device', default='cuda', help="'cuda' or 'cpu'")
    p.add_argument('--tiny', action='store_true',
                   help='tiny models and batches (the CPU rehearsal)')
    p.add_argument('--out', help='results folder (default: $OUT, else '
                   'work_dirs/gpu_check)')
    p.add_argument('--total', type=float, default=440,
                   help='seconds for all steps together')
    p.add_argument('--budget-scale', type=float, default=1,
                   help='multiply every budget and --total (a slow or '
                   'shared CPU)')
    p.add_argument('--steps', default='abcd', help='which steps, e.g. ab')
    p.add_argument('--workers', type=int, default=min(8, os.cpu_count()),
                   help='step c: loader processes')
    p.add_argument('--compile-backend', help='step d (default inductor; '
                   'aot_eager with --tiny: no code generation on the CPU)')
    p.add_argument('--all-configs', action='store_true',
                   help='step b with --tiny: every config, not one per '
                   'feature')
    args = p.parse_args(argv)
    out = args.out or os.environ.get('OUT') or osp.join(
        REPO, 'work_dirs', 'gpu_check')
    backend = args.compile_backend or ('aot_eager' if args.tiny
                                       else 'inductor')
    env = dict(os.environ, PYTHONUNBUFFERED='1')
    if args.device == 'cpu':
        env['CUDA_VISIBLE_DEVICES'] = ''
    scratch = tempfile.mkdtemp(prefix='gpu_check_')
    if osp.exists(osp.join(out, 'gpu_check.log')):
        os.remove(osp.join(out, 'gpu_check.log'))

    def command(key, part):
        cmd = [sys.executable, STEPS_PY, key, '--part', part, '--device',
               args.device, '--workers', str(args.workers),
               '--compile-backend', backend]
        return cmd + ['--tiny'] * args.tiny + ['--all-configs'] * \
            args.all_configs

    k = args.budget_scale
    steps = [(key, t, b * k) for key, t, b in BUDGETS if key in args.steps]
    report = run_check(steps, command, out, scratch, args.total * k,
                       meta_info(args), env)
    print(open(osp.join(out, 'gpu_check.md')).read())
    print(f'results: {out}/gpu_check.md, gpu_check.json, gpu_check.log')
    return report


if __name__ == '__main__':
    done = main()
    sys.exit(0 if all(s['status'] == 'ok' for s in done['steps'].values())
             else 1)
