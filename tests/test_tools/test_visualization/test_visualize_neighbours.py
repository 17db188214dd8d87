"""tools/visualization/visualize_neighbours.py: nearest neighbours of a
folder through mmpretrain's FeatureExtractor, the picture and the map."""
import json
import os.path as osp
import shutil
import time

import cv2
import pytest
import torch
from mmengine.config import Config

from mmpretrain.apis import FeatureExtractor
from mmsymmim.datasets.fashion_mnist import FashionMNISTIDX
from mmsymmim.visualization.image_folder import (
    folder_batches,
    folder_classes,
    list_images,
)
from mmsymmim.visualization.neighbours import (
    embed,
    embed_files,
    nearest,
    picture_shape,
    tile_size,
)
from ...harness import REPO, SYMMIM_DEMO, run_tool

TOOL = osp.join(REPO, 'tools/visualization/visualize_neighbours.py')


def write_fmnist(folder, n: int, classes: bool = True) -> list:
    """The first ``n`` Fashion-MNIST test images as PNGs, in one sub-folder
    per class (``classes``) or flat."""
    ds = FashionMNISTIDX(split='test', indices=n)
    names = ds.metainfo['classes']
    paths = []
    for i in range(n):
        info = ds.get_data_info(i)
        sub = names[info['gt_label']].replace('/', '-') if classes else ''
        (folder / sub).mkdir(parents=True, exist_ok=True)
        paths.append(str(folder / sub / f'{i:05d}.png'))
        cv2.imwrite(paths[-1], info['img'][..., 0])
    return paths


@pytest.fixture
def folder(fmnist_root, tmp_path):
    paths = write_fmnist(tmp_path / 'images', 40)
    dup = paths[7].replace('.png', '_copy.png')
    shutil.copy(paths[7], dup)
    return tmp_path / 'images', paths[7], dup


def test_each_image_is_its_own_nearest_and_a_duplicate_is_found(folder):
    root, original, dup = folder
    paths = list_images(str(root))
    extractor = FeatureExtractor(SYMMIM_DEMO, pretrained=False, device='cpu')
    torch.manual_seed(0)
    extractor.model.init_weights()
    feats = embed(extractor.model, (d for _, d in folder_batches(
        paths, extractor.pipeline, batch_size=16)))
    sims, index = nearest(feats, feats, k=2)  # itself included
    assert (index[:, 0] == torch.arange(len(paths))).sum() >= len(paths) - 1
    torch.testing.assert_close(sims[:, 0], torch.ones(len(paths)),
                               atol=1e-5, rtol=0)
    a, b = paths.index(original), paths.index(dup)
    assert set(index[a].tolist()) == set(index[b].tolist()) == {a, b}
    assert sims[a, 1] > 1 - 1e-5
    # labels from the class sub-folders
    labels, names = folder_classes(paths, str(root))
    assert len(names) == 10 and labels[a] == labels[b]


@pytest.mark.slow
def test_tool_draws_neighbours_map_and_json(folder, tmp_path):
    root, original, dup = folder
    out, js, mp = (str(tmp_path / n) for n in ('nn.png', 'nn.json',
                                                'map.png'))
    proc = run_tool(TOOL, SYMMIM_DEMO, '--random-init', '--images', root,
                    '--out', out, '--json', js, '--map', mp, '--k', '5',
                    '--num-queries', '3')
    assert proc.returncode == 0, proc.out[-3000:]
    assert cv2.imread(out).shape == (*picture_shape(3, 5, tile_size(32)), 3)
    assert cv2.imread(mp).shape[0] > 100
    result = json.load(open(js))
    assert result['images'] == 41 and len(result['queries']) == 3
    assert 'label precision of the 5 nearest neighbours' in proc.stdout
    assert 0 <= result['precision@5'] <= 100
    # a chosen query: the duplicate file's nearest other image is the original
    proc = run_tool(TOOL, SYMMIM_DEMO, '--random-init', '--images', root,
                    '--out', out, '--json', js, '--k', '1', '--query', dup)
    assert proc.returncode == 0, proc.out[-3000:]
    (match, ) = json.load(open(js))['queries'][0]['neighbours']
    assert match['path'] == original and match['similarity'] > 1 - 1e-5


@pytest.fixture(scope='module')
def random_init_extractor():
    extractor = FeatureExtractor(SYMMIM_DEMO, pretrained=False, device='cpu')
    torch.manual_seed(0)
    extractor.model.init_weights()
    return extractor


@pytest.mark.parametrize('workers, batch_size', [(1, 16), (2, 16), (2, 7)])
def test_features_equal_with_and_without_workers(folder, tmp_path, workers,
                                                 batch_size,
                                                 random_init_extractor):
    """Worker processes load and embed their own batches (one thread each):
    the same features, rows and neighbours as this process alone; an
    undecodable file is left out either way."""
    paths = list_images(str(folder[0]))
    bad = tmp_path / 'broken.png'
    bad.write_bytes(b'not an image')
    paths.insert(5, str(bad))
    model, pipeline = (random_init_extractor.model,
                       random_init_extractor.pipeline)
    mode = model.training
    ref, ref_rows = embed_files(model, paths, pipeline, batch_size, 0)
    seen = []
    feats, rows = embed_files(model, paths, pipeline, batch_size, workers,
                              progress=seen.append)
    assert 5 not in rows.tolist() and len(rows) == len(paths) - 1
    torch.testing.assert_close(rows, ref_rows, rtol=0, atol=0)
    torch.testing.assert_close(feats, ref, rtol=0, atol=0)  # bit-identical
    assert sum(seen) == len(paths) - 1 and model.training == mode
    assert torch.equal(nearest(feats, feats, 5)[1], nearest(ref, ref, 5)[1])


def test_tool_result_is_the_same_with_workers(folder, tmp_path):
    runs = []
    for workers in (0, 2):
        js = str(tmp_path / f'nn{workers}.json')
        proc = run_tool(TOOL, SYMMIM_DEMO, '--random-init', '--images',
                        folder[0], '--out', tmp_path / 'nn.png', '--json', js,
                        '--k', '4', '--workers', workers)
        assert proc.returncode == 0, proc.out[-3000:]
        assert f'{workers} workers, cpu' in proc.stdout
        runs.append(json.load(open(js)))
    assert runs[0] == runs[1]


@pytest.mark.parametrize('args, message', [
    (['--random-init', '--k', '0'], '--k must be at least 1'),
    (['--random-init', '--num-queries', '0'],
     '--num-queries must be at least 1'),
    (['--random-init', '--map-method', 'pca'],
     '--map-method must be one of tsne, umap'),
    (['--random-init', '--map-sample', '10'], "argument --map-sample: must "
     "be 0 (fit every image) or an integer of at least 100, got '10'"),
    (['--random-init', '--map-sample', 'all'], "argument --map-sample: must "
     "be 0 (fit every image) or an integer of at least 100, got 'all'"),
    (['--random-init', '--workers', '-1'], '--workers must be 0 or more'),
    (['ckpt.pth', '--random-init'],
     'give a checkpoint or --random-init (not both)'),
    (['--random-init', '--images', '/nonexistent'],
     '--images: /nonexistent is not a folder'),
])
def test_bad_arguments_name_the_option(folder, args, message):
    images = [] if '--images' in args else ['--images', folder[0]]
    proc = run_tool(TOOL, SYMMIM_DEMO, *args, *images)
    assert proc.returncode != 0 and message in proc.stderr, proc.stderr


def test_a_config_without_test_pipeline_is_named(folder, tmp_path):
    cfg = Config.fromfile(SYMMIM_DEMO)
    cfg.pop('test_dataloader')
    path = str(tmp_path / 'no_test.py')
    cfg.dump(path)
    proc = run_tool(TOOL, path, '--random-init', '--images', str(folder[0]))
    assert proc.returncode != 0
    assert 'has no test_dataloader' in proc.stderr


def test_thousand_images_in_seconds(fmnist_root, tmp_path):
    """Features in batches, one matrix product: 1,000 Fashion-MNIST images
    through the demo's ViT (32 px) on the CPU."""
    write_fmnist(tmp_path / 'images', 1000, classes=False)
    start = time.time()
    proc = run_tool(TOOL, SYMMIM_DEMO, '--random-init', '--images',
                    tmp_path / 'images', '--out', tmp_path / 'nn.png')
    took = time.time() - start
    assert proc.returncode == 0, proc.out[-3000:]
    assert 'of 1000 images' in proc.stdout
    assert took < 30, f'{took:.1f} s for 1,000 images'


def test_a_folder_of_undecodable_files_is_named(tmp_path):
    for name in ('a.png', 'b.jpg'):
        (tmp_path / name).write_bytes(b'not an image')
    proc = run_tool(TOOL, SYMMIM_DEMO, '--random-init', '--images', tmp_path)
    assert proc.returncode != 0
    assert f'none of the 2 image files under {tmp_path} decodes' in \
        proc.stderr, proc.stderr[-2000:]
