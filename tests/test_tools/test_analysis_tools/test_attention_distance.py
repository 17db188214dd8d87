import json
import os.path as osp

import mmcv
import numpy as np
import pytest
import torch

from ...harness import MASK_TOKEN_DEMO as DEMO
from ...harness import REPO, run_tool, tiny_arch

TOOL = osp.join(REPO, 'tools/analysis_tools/attention_distance.py')


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    """A tiny-ViT demo config, a checkpoint of its encoder (under
    ``backbone.``, beside a momentum encoder as SymMIM's) and a folder of
    six 48-px images (larger than the 32-px pretraining)."""
    from mmpretrain.models import VisionTransformer
    root = tmp_path_factory.mktemp('attn')
    cfg = root / 'tiny.py'
    cfg.write_text(
        f"_base_ = '{DEMO}'\nmodel = dict(backbone=dict(arch=dict("
        f"_delete_=True, **{tiny_arch(2)!r})))\n")
    torch.manual_seed(1)
    vit = VisionTransformer(arch=tiny_arch(2), img_size=32, patch_size=4)
    state = {f'{p}{k}': v for k, v in vit.state_dict().items()
             for p in ('backbone.', 'momentum_encoder.module.backbone.')}
    ckpt = root / 'tiny.pth'
    torch.save(dict(state_dict=state), ckpt)
    images = root / 'images'
    images.mkdir()
    rng = np.random.default_rng(0)
    for i in range(6):
        mmcv.imwrite(rng.integers(0, 255, (48, 48), np.uint8),
                     str(images / f'{i:02d}.png'))
    return cfg, ckpt, images


def tool(setup, tmp_path, *extra):
    cfg, ckpt, images = setup
    return run_tool(TOOL, cfg, *extra, '--images', images,
                    '--out', tmp_path / 'r.json')


def test_table_and_json(setup, tmp_path):
    proc = tool(setup, tmp_path, setup[1], '--random-init', '--labels',
                'tiny')
    assert proc.returncode == 0, proc.stderr[-3000:]
    r = json.loads((tmp_path / 'r.json').read_text())
    assert r['images'] == 6 and r['size'] == [48, 48]
    assert list(r['rows']) == ['tiny', 'random init']
    d = torch.tensor(r['rows']['tiny']['distance'])
    assert d.shape == (1, 2, 2)  # checkpoints x layers x heads
    diagonal = (2 * 44**2)**0.5  # between the corner patches' origins
    assert ((d > 0) & (d < diagonal)).all()
    assert '| tiny | ' in proc.stdout and '| random init | ' in proc.stdout


def test_checkpoints_of_one_label_are_averaged(setup, tmp_path):
    proc = tool(setup, tmp_path, setup[1], setup[1], '--labels', 'a', 'a')
    assert proc.returncode == 0, proc.stderr[-3000:]
    row = json.loads((tmp_path / 'r.json').read_text())['rows']['a']
    assert len(row['checkpoints']) == 2
    assert row['distance'][0] == row['distance'][1]
    mean = torch.tensor(row['distance'][0]).mean(1)
    # same file twice: no seed spread, the cell is [x-x]
    for x in mean.tolist():
        assert f'{x:.1f} [{x:.1f}-{x:.1f}]' in proc.stdout


def test_prefix_picks_the_encoder_and_a_wrong_one_fails(setup, tmp_path):
    ok = tool(setup, tmp_path, setup[1], '--prefix',
              'momentum_encoder.module.backbone.')
    assert ok.returncode == 0, ok.stderr[-3000:]
    bad = tool(setup, tmp_path, setup[1], '--prefix', 'target.')
    assert bad.returncode != 0 and 'missing' in bad.stderr
    assert 'Traceback' not in bad.stderr


@pytest.mark.parametrize('extra,message', [
    ((), 'give one or more checkpoints'),
    (('x.pth', '--labels', 'a', 'b'), '--labels: 2 given for 1'),
    (('--random-init', '--num-images', '0'), '--num-images must be'),
])
def test_bad_options_say_which(setup, tmp_path, extra, message):
    proc = tool(setup, tmp_path, *extra)
    assert proc.returncode != 0 and message in proc.stderr


def test_mixed_sizes_are_refused(setup, tmp_path):
    cfg, ckpt, images = setup
    mixed = tmp_path / 'mixed'
    mixed.mkdir()
    for i, s in enumerate((32, 48)):
        mmcv.imwrite(np.zeros((s, s), np.uint8), str(mixed / f'{i}.png'))
    proc = run_tool(TOOL, cfg, '--random-init', '--images', mixed)
    assert proc.returncode != 0 and 'differ in size' in proc.stderr
    assert 'Traceback' not in proc.stderr


SCENE_DET = osp.join(
    REPO, 'configs/symmim/benchmarks/'
    'mask-rcnn_vit-tiny-p4_simple-fpn_1xb8-800i_fmnist-scenes.py')


@pytest.mark.parametrize('global_blocks,ok', [('(0, 1, 2, 3)', True),
                                              ('(1, 3)', False)])
def test_own_backbone_reads_a_detector(tmp_path, global_blocks, ok):
    """--own-backbone builds the scene detector's ViTDetBackbone (mmdet's
    registry, no class token); blocks attending in windows are refused."""
    cfg = tmp_path / 'det.py'
    cfg.write_text(f"_base_ = '{SCENE_DET}'\nmodel = dict(backbone=dict("
                   f"global_attn_indices={global_blocks}))\n")
    images = tmp_path / 'images'
    images.mkdir()
    for i in range(2):
        mmcv.imwrite(np.full((64, 64), 40 * i, np.uint8),
                     str(images / f'{i}.png'))
    proc = run_tool(TOOL, cfg, '--random-init', '--own-backbone', '--images',
                    images, '--out', tmp_path / 'r.json')
    if ok:
        assert proc.returncode == 0, proc.stderr[-3000:]
        r = json.loads((tmp_path / 'r.json').read_text())
        assert torch.tensor(r['rows']['random init']['distance']).shape == (
            1, 4, 4)
    else:
        assert proc.returncode != 0 and 'blocks [0, 2] attend in windows' \
            in proc.stderr
        assert 'Traceback' not in proc.stderr
