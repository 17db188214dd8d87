"""The throughput harness runs end to end in its CPU smoke mode."""
import importlib.util
import math
import os.path as osp

from ..conftest import REPO


def load():
    spec = importlib.util.spec_from_file_location(
        'throughput', osp.join(REPO, 'benchmarks/throughput.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_smoke_mode_measures_all_columns(tmp_path):
    out = tmp_path / 'table.md'
    rows = load().main([
        '--smoke', '--device', 'cpu', '--models', 'symmim_vit-b-fast',
        'mocov3_vit-b', 'simmim_swin-b', '--out', str(out)
    ])
    assert [r['model'] for r in rows] == [
        'symmim_vit-b-fast', 'mocov3_vit-b', 'simmim_swin-b']
    for r in rows:
        assert r['img_s'] > 0 and r['ms'] > 0 and r['gflop'] > 0
        assert 0 < r['frac'] < 1.5 and math.isnan(r['peak'])
    # SymMIM does at least MoCo v3's work (two views, EMA) plus a decoder
    assert rows[0]['gflop'] >= rows[1]['gflop']
    text = out.read_text()
    assert '| symmim_vit-b-fast |' in text and 'x MoCoV3' in text
