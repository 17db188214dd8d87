"""benchmark_pipeline.py runs both worker pipelines and the device aug."""
import importlib.util
import os.path as osp

from ...harness import REPO

SCRIPT = osp.join(REPO, 'tools/analysis_tools/benchmark_pipeline.py')


def test_smoke_prints_both_pipelines_and_the_device_aug(capsys):
    spec = importlib.util.spec_from_file_location('benchmark_pipeline', SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    per_img = mod.main(['--images', '2', '--repeats', '1', '--batch', '2',
                        '--aug-steps', '1', '--mix-batch', '2',
                        '--target', '100'])
    out = capsys.readouterr().out
    assert set(per_img) == {'cpu', 'device'}
    assert all(v > 0 for v in per_img.values())
    for text in ('| cpu (', '| device (', 'device / cpu worker img/s',
                 'DeviceViewAugment, 2 images x 2 views', 'workers to feed'):
        assert text in out, text
