"""study/transfer/probe.py (run.py probe): its options. (The probe itself
trains a scene config for minutes; the diagnosis it ran is in
docs/transfer_study.md.)"""
import importlib.util
import os.path as osp

import pytest

from study.transfer import probe
from .....harness import REPO

# pycocotools' decode under numpy 2 (upstream, harmless)
pytestmark = pytest.mark.filterwarnings(
    'ignore:__array__ implementation:DeprecationWarning')


def test_options_are_checked(tmp_path, capsys):
    with pytest.raises(SystemExit):
        probe.parse_args(['cfg.py', '--scenes', str(tmp_path), '--iters',
                          '0'])
    assert '--iters must be >= 1' in capsys.readouterr().err
    with pytest.raises(SystemExit):
        probe.parse_args(['cfg.py', '--scenes', str(tmp_path)])
    assert 'no annotations/instances_val.json' in capsys.readouterr().err
    (tmp_path / 'annotations').mkdir()
    (tmp_path / 'annotations/instances_val.json').write_text('{}')
    args = probe.parse_args(['cfg.py', '--scenes', str(tmp_path)])
    assert (args.iters, args.val_scenes, args.seed, args.threads) == (
        200, 200, 0, 1)
    with pytest.raises(SystemExit):  # scored on test scenes it lacks
        probe.parse_args(['cfg.py', '--scenes', str(tmp_path), '--test'])
    assert 'no annotations/instances_test.json' in capsys.readouterr().err


def test_probe_trains_and_scores_the_test_scenes(fmnist_root, tmp_path,
                                                 capsys):
    """Two iterations of the ResNet scene detector on 6 scenes, the RoI
    head scored on 3 validation garment sets, then (``--test``) box and mask
    AP on the 3 test scenes, as the study scores them."""
    tool = osp.join(REPO, 'tools/dataset_converters/make_fmnist_scenes.py')
    spec = importlib.util.spec_from_file_location('make_fmnist_scenes', tool)
    mfs = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mfs)
    scenes = tmp_path / 'scenes'
    mfs.main(['--out', str(scenes), '--train', '6', '--val', '3', '--test',
              '3'])
    config = osp.join(REPO, 'configs/mixmask/benchmarks/'
                      'mask-rcnn_resnet18-tiny_fpn_1xb8-800i_fmnist-scenes.py')
    acc = probe.main([config, '--scenes', str(scenes), '--iters', '2',
                      '--val-scenes', '3', '--work-dir', str(tmp_path / 'w'),
                      '--test'])
    out = capsys.readouterr().out
    assert 0 <= acc <= 100 and 'gt_box_acc=' in out
    line = next(x for x in out.splitlines() if x.startswith('probe test'))
    assert 'coco/bbox_mAP=' in line and 'coco/segm_mAP=' in line
