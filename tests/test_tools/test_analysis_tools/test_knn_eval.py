import json
import os.path as osp

import pytest
import torch

from mmsymmim.evaluation import linear_probe_accuracy
from ...harness import MASK_TOKEN_DEMO as DEMO
from ...harness import REPO, run_tool, tiny_arch

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


@pytest.fixture(scope='module')
def tiny_config(tmp_path_factory):
    """The mask-token demo with the arch of ``tiny_symmim_ckpt``."""
    cfg = tmp_path_factory.mktemp('knn') / 'tiny.py'
    cfg.write_text(
        f"_base_ = '{DEMO}'\nmodel = dict(backbone=dict(arch=dict("
        f"_delete_=True, **{tiny_arch(4)!r})), neck=dict(in_channels=64), "
        "mim_neck=dict(in_channels=64))\n")
    return cfg


def knn_eval(tiny_config, tmp_path, *extra):
    """The tool on 300 bank / 200 test images; its JSON result."""
    path = tmp_path / 'result.json'
    proc = run_tool(TOOL, tiny_config, *extra, '--bank-size', '300',
                    '--test-size', '200', '--out', path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    r = json.loads(path.read_text())
    assert r['bank'] == 300 and r['test'] == 200
    assert 10 < r['knn_top1'] <= 100 and 10 < r['linear_top1'] <= 100
    return r


def test_tool_on_a_checkpoint(tiny_config, tiny_symmim_ckpt, tmp_path):
    r = knn_eval(tiny_config, tmp_path, tiny_symmim_ckpt)
    assert r['checkpoint'] == tiny_symmim_ckpt


@pytest.mark.slow
def test_tool_on_random_init(tiny_config, tmp_path):
    r = knn_eval(tiny_config, tmp_path, '--random-init')
    assert r['checkpoint'] == 'random init'


def test_tool_needs_checkpoint_or_random(tmp_path):
    proc = run_tool(TOOL, DEMO)
    assert proc.returncode != 0 and '--random-init' in proc.stderr


def test_config_without_knn_hook_names_the_fix():
    proc = run_tool(TOOL, osp.join(
        REPO,
        'configs/symmim/symmim_vit-base-p16_16xb256-amp-coslr-600e_in1k.py'),
        '--random-init')
    assert proc.returncode != 0
    assert 'has no KNNEvalHook' in proc.stderr
    assert 'Traceback' not in proc.stderr
