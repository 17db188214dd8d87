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
    ``backbone.``, beside another encoder under SymMIM's momentum prefix), a
    second checkpoint (another draw) and a folder of six 48-px images
    (larger than the 32-px pretraining)."""
    from mmpretrain.models import VisionTransformer
    root = tmp_path_factory.mktemp('attn')
    cfg = root / 'tiny.py'
    cfg.write_text(
        f"_base_ = '{DEMO}'\nmodel = dict(backbone=dict(arch=dict("
        f"_delete_=True, **{tiny_arch(2)!r})))\n")
    def draw(seed):
        torch.manual_seed(seed)
        vit = VisionTransformer(arch=tiny_arch(2), img_size=32, patch_size=4)
        vit.init_weights()
        return vit.state_dict()

    state = {f'backbone.{k}': v for k, v in draw(1).items()}
    state.update({f'momentum_encoder.module.backbone.{k}': v
                  for k, v in draw(2).items()})
    ckpt = root / 'tiny.pth'
    torch.save(dict(state_dict=state), ckpt)
    torch.save(dict(state_dict={f'backbone.{k}': v
                                for k, v in draw(3).items()}),
               root / 'other.pth')
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
    """Two checkpoints under one name: the cell is their mean, the bracket
    their range (the per-checkpoint head means)."""
    other = setup[1].parent / 'other.pth'
    proc = tool(setup, tmp_path, setup[1], other, '--labels', 'a', 'a')
    assert proc.returncode == 0, proc.stderr[-3000:]
    row = json.loads((tmp_path / 'r.json').read_text())['rows']['a']
    assert row['checkpoints'] == [str(setup[1]), str(other)]
    d = torch.tensor(row['distance']).mean(2)  # (checkpoints, layers)
    assert not torch.equal(d[0], d[1])
    for layer in d.T.tolist():
        assert (f'{sum(layer) / 2:.1f} [{min(layer):.1f}-{max(layer):.1f}]'
                in proc.stdout)


def test_prefix_picks_the_encoder_and_a_wrong_one_fails(setup, tmp_path):
    """The momentum prefix reads the other encoder (other distances); a
    prefix the file lacks stops with one line."""
    def distances(*extra):
        proc = tool(setup, tmp_path, setup[1], *extra)
        assert proc.returncode == 0, proc.stderr[-3000:]
        r = json.loads((tmp_path / 'r.json').read_text())
        return r['rows'][str(setup[1])]['distance']

    assert distances() != distances('--prefix',
                                     'momentum_encoder.module.backbone.')
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


def scene_det_config(tmp_path, global_blocks='(0, 1, 2, 3)'):
    cfg = tmp_path / 'det.py'
    cfg.write_text(f"_base_ = '{SCENE_DET}'\nmodel = dict(backbone=dict("
                   f"global_attn_indices={global_blocks}))\n")
    images = tmp_path / 'images'
    images.mkdir(exist_ok=True)
    for i in range(2):
        mmcv.imwrite(np.full((64, 64), 40 * i, np.uint8),
                     str(images / f'{i}.png'))
    return cfg, images


def test_own_backbone_reads_a_fine_tuned_detector(tmp_path):
    """--own-backbone builds the scene detector's ViTDetBackbone (mmdet's
    registry, no class token) and loads a detector checkpoint's
    ``backbone.`` tensors: the same numbers as the backbone in memory."""
    from mmengine.config import Config

    from mmsymmim.evaluation import attention_distance, load_backbone
    cfg, images = scene_det_config(tmp_path)
    det_cfg = Config.fromfile(cfg).model.backbone
    det_cfg.pop('init_cfg')
    det_cfg.type = 'mmdet.ViTDetBackbone'
    torch.manual_seed(4)
    backbone = load_backbone(det_cfg)
    ckpt = tmp_path / 'det.pth'
    torch.save(dict(state_dict={f'backbone.{k}': v for k, v in
                                backbone.state_dict().items()}), ckpt)
    proc = run_tool(TOOL, cfg, ckpt, '--own-backbone', '--images', images,
                    '--out', tmp_path / 'r.json')
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = json.loads((tmp_path / 'r.json').read_text())
    got = torch.tensor(got['rows'][str(ckpt)]['distance'][0])
    assert got.shape == (4, 4)  # 4 blocks x 4 heads
    x = torch.from_numpy(np.stack([
        mmcv.imread(str(images / f'{i}.png'), 'color') for i in range(2)]))
    x = (x.permute(0, 3, 1, 2).float() - 72.9) / 90.0
    torch.testing.assert_close(got, attention_distance(backbone, x),
                               atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize('config,message', [
    ('windowed', 'blocks [0, 2] attend in windows'),
    ('resnet', 'is not a ViT'),
])
def test_own_backbone_refuses_what_it_cannot_read(tmp_path, config,
                                                   message):
    cfg, images = scene_det_config(tmp_path, '(1, 3)')
    if config == 'resnet':
        cfg = osp.join(REPO, 'configs/mixmask/benchmarks/'
                       'mask-rcnn_resnet18-tiny_fpn_1xb8-800i_fmnist-'
                       'scenes.py')
    proc = run_tool(TOOL, cfg, '--random-init', '--own-backbone', '--images',
                    images)
    assert proc.returncode != 0 and message in proc.stderr
    assert 'Traceback' not in proc.stderr
