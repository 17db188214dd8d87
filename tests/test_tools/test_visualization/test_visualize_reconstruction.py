"""tools/visualization/visualize_reconstruction.py and the grid it draws."""
import importlib.util
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config

from mmsymmim.visualization.reconstruction import (
    HEADER,
    find_mask_generator,
    grid_shape,
    images_from_dataset,
    reconstruct_images,
    tile_size,
)
from ...harness import (
    MASK_TOKEN_DEMO,
    REPO,
    SYMMIM_DEMO,
    build_model,
    run_tool,
    tiny_arch,
    tiny_cfg,
    tiny_options,
)
from ...test_datasets.test_data_check import write_jpegs

TOOL = osp.join(REPO, 'tools/visualization/visualize_reconstruction.py')
VIT_B_IN1K = osp.join(
    REPO, 'configs/symmim/symmim_vit-base-p16_16xb256-amp-coslr-600e_in1k.py')


def _tool_main():
    spec = importlib.util.spec_from_file_location('_vis_tool', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main


def test_tool_on_a_trained_checkpoint(tiny_symmim_ckpt, tmp_path):
    """Both encoder_input paths (the fixture trains one of each)."""
    state = torch.load(tiny_symmim_ckpt, map_location='cpu',
                       weights_only=True)['state_dict']
    config = (MASK_TOKEN_DEMO if 'backbone.mask_token' in state else
              SYMMIM_DEMO)
    out = tmp_path / 'recon.png'
    proc = run_tool(TOOL, config, tiny_symmim_ckpt, '--out', out, '--num', '3',
                    '--cfg-options', *tiny_options(config, arch=tiny_arch(4)))
    assert proc.returncode == 0, proc.stderr[-3000:]
    img = cv2.imread(str(out))
    assert img.shape == (*grid_shape(3, 32), 3) == (28 + 3 * 128, 512, 3)
    t = tile_size(32)
    row = img[HEADER:HEADER + t].astype(int)
    image, shaded, recon = (row[:, c * t:(c + 1) * t] for c in range(3))
    masked = (shaded != image).any(-1)  # the online mask column
    assert 0.3 < masked.mean() < 0.7  # a 50 % board
    assert np.abs(recon - image)[~masked].max() <= 1  # visible: kept
    assert np.abs(recon - image)[masked].mean() > 5  # masked: predicted


@pytest.mark.parametrize('config', [MASK_TOKEN_DEMO, SYMMIM_DEMO],
                         ids=['mask_token', 'visible'])
@pytest.mark.parametrize('norm_target', [False, True])
def test_reconstruction_pastes_prediction_into_visible(config, norm_target):
    cfg = tiny_cfg(config, norm_target=norm_target)
    model = build_model(cfg)
    gen = find_mask_generator(cfg, model)
    images = images_from_dataset(
        dict(cfg.train_dataloader.dataset, indices=4), 2, gen.input_size)
    out = reconstruct_images(model, images, gen, seed=3)
    assert out['recon'].shape == images.shape == (2, 32, 32, 3)
    assert out['mask'].shape == out['ema_mask'].shape == (2, 8, 8)
    px = np.kron(out['mask'], np.ones((4, 4), bool))
    diff = np.abs(out['recon'].astype(int) - images)
    assert diff[~px].max() <= 1 and diff[px].mean() > 1
    # same seed, same masks: grids of a run are comparable
    again = reconstruct_images(model, images, gen, seed=3)
    assert (again['mask'] == out['mask']).all()
    assert model.training  # mode restored
    if norm_target:  # a flat true patch gets back its value exactly
        patches = images.reshape(2, 8, 4, 8, 4, 3).transpose(0, 1, 3, 2, 4, 5)
        rec = out['recon'].reshape(2, 8, 4, 8, 4, 3).transpose(
            0, 1, 3, 2, 4, 5).reshape(2, 8, 8, -1).astype(int)
        patches = patches.reshape(2, 8, 8, -1).astype(int)
        flat = out['mask'] & (patches.min(-1) == patches.max(-1))
        assert flat.any()
        assert np.abs(rec[flat] - patches[flat]).max() <= 1


def test_imagenet_config_on_a_folder(tmp_path, fmnist_root):
    """The ViT-B ImageNet config (ViT-S width here, random weights) on a
    folder of JPEGs; colour order survives (to_rgb=True there)."""
    folder = write_jpegs(tmp_path / 'imgs', fmnist_root, n=3, bad=['x.jpg'])
    arch = {'model.backbone.arch': 'deit-tiny', 'model.neck.in_channels': 192,
            'model.mim_neck.embed_dim': 192}
    cfg = Config.fromfile(VIT_B_IN1K)
    cfg.merge_from_dict(arch)
    ckpt = tmp_path / 'random.pth'
    torch.save(dict(state_dict=build_model(cfg).state_dict()), ckpt)
    out = tmp_path / 'in1k.png'
    _tool_main()([VIT_B_IN1K, str(ckpt), '--out', str(out), '--images',
                  str(folder), '--num', '2', '--cfg-options',
                  *[f'{k}={v}' for k, v in arch.items()]])
    img = cv2.imread(str(out))
    assert img.shape == (*grid_shape(2, 224), 3) == (28 + 448, 896, 3)
    # visible patches keep the JPEG's colours (the config has to_rgb=True):
    # about half the bright pixels of the reconstruction equal the image's
    src = img[HEADER:HEADER + 224, :224].reshape(-1, 3).astype(int)
    rec = img[HEADER:HEADER + 224, 2 * 224:3 * 224].reshape(-1, 3)
    bright = src.sum(-1) > 60
    kept = np.abs(rec - src).max(-1) <= 1
    assert 0.3 < (kept & bright).sum() / bright.sum() < 0.8
    # masked ones: a random decoder's ~0 in the normalised space is the
    # config's mean colour (the top-level data_preprocessor was applied)
    shaded = img[HEADER:HEADER + 224, 224:448].reshape(-1, 3).astype(int)
    masked = (shaded != src).any(-1)
    assert np.abs(rec[masked].mean(0) - [104, 116, 124]).max() < 30


def test_missing_folder_is_one_line(tmp_path):
    with pytest.raises(SystemExit, match='--images: no readable image'):
        _tool_main()([MASK_TOKEN_DEMO, 'unused.pth', '--images',
                      str(tmp_path / 'nowhere')])
