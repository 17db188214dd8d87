import json
import os.path as osp
import subprocess
import sys

import torch

from mmsymmim.evaluation import linear_probe_accuracy
from ...harness import REPO, MASK_TOKEN_DEMO as DEMO
from ...harness import tiny_arch

TOOL = osp.join(REPO, 'tools/analysis_tools/knn_eval.py')


def test_linear_probe_separable():
    g = torch.Generator().manual_seed(0)
    centers = torch.randn(3, 16, generator=g) * 4
    y = torch.randint(0, 3, (300, ), generator=g)
    x = centers[y] + torch.randn(300, 16, generator=g) * 0.5
    acc = linear_probe_accuracy(x[:200], y[:200], x[200:], y[200:], 3)
    assert acc == 100.0
    # labels unrelated to the features: near chance
    acc = linear_probe_accuracy(x[:200], y[:200].flip(0), x[200:], y[200:], 3)
    assert acc < 60


def test_tool_on_checkpoint_and_random_init(tiny_symmim_ckpt, tmp_path):
    cfg = tmp_path / 'tiny.py'
    cfg.write_text(
        f"_base_ = '{DEMO}'\nmodel = dict(backbone=dict(arch=dict("
        f"_delete_=True, **{tiny_arch(4)!r})), neck=dict(in_channels=64), "
        "mim_neck=dict(in_channels=64))\n")
    out = {}
    for name, extra in (('ckpt', [tiny_symmim_ckpt]), ('rand',
                                                       ['--random-init'])):
        path = tmp_path / f'{name}.json'
        proc = subprocess.run([
            sys.executable, TOOL, str(cfg), *extra, '--bank-size', '300',
            '--test-size', '200', '--out', str(path)
        ], cwd=REPO, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr[-3000:]
        out[name] = json.loads(path.read_text())
    for r in out.values():
        assert r['bank'] == 300 and r['test'] == 200
        assert 10 < r['knn_top1'] <= 100 and 10 < r['linear_top1'] <= 100
    assert out['rand']['checkpoint'] == 'random init'


def test_tool_needs_checkpoint_or_random(tmp_path):
    proc = subprocess.run([sys.executable, TOOL, DEMO], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode != 0 and '--random-init' in proc.stderr


def test_config_without_knn_hook_names_the_fix():
    proc = subprocess.run(
        [sys.executable, TOOL, osp.join(
            REPO, 'configs/symmim/symmim_vit-base-p16_16xb256-amp-coslr-300e_in1k.py'),
         '--random-init'], capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert 'has no KNNEvalHook' in proc.stderr
    assert 'Traceback' not in proc.stderr
