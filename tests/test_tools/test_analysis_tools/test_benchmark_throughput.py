"""The throughput harness runs end to end in its CPU smoke mode."""
import importlib.util
import math
import os.path as osp

import pytest

from ...harness import REPO


def load():
    spec = importlib.util.spec_from_file_location(
        'throughput',
        osp.join(REPO, 'tools/analysis_tools/benchmark_throughput.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.slow
def test_smoke_mode_measures_all_columns(tmp_path):
    out = tmp_path / 'table.md'
    names = ['symmim_vit-b', 'symmim_vit-b-sym', 'symmim_vit-b-mask-token',
             'symmim_vit-b-device-masks', 'mocov3_vit-b', 'simmim_swin-b']
    rows = load().main(['--smoke', '--device', 'cpu', '--models', *names,
                        '--out', str(out)])
    assert [r['model'] for r in rows] == names
    for r in rows:
        assert r['img_s'] > 0 and r['ms'] > 0 and r['gflop'] > 0
        assert 0 < r['frac'] < 1.5 and math.isnan(r['peak'])
    flops = {r['model']: r['gflop'] for r in rows}
    # the configs' one view order a step (symmetric=False): the mask-token
    # path does half MoCo v3's work (one view per encoder) plus a decoder;
    # both orders double the work; the visible path encodes half the tokens
    assert flops['symmim_vit-b-mask-token'] >= flops['mocov3_vit-b'] / 2
    assert abs(flops['symmim_vit-b-sym'] / flops['symmim_vit-b'] - 2) < 0.05
    assert flops['symmim_vit-b'] < flops['symmim_vit-b-mask-token']
    assert flops['symmim_vit-b-device-masks'] == flops['symmim_vit-b']
    text = out.read_text()
    assert '| symmim_vit-b |' in text and 'x MoCoV3' in text
