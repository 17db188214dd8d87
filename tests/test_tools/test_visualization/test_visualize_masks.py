"""tools/visualization/visualize_masks.py writes the mask grid PNG."""
import os.path as osp

import cv2
import pytest

from ...harness import REPO, run_tool

TOOL = osp.join(REPO, 'tools/visualization/visualize_masks.py')


@pytest.mark.parametrize('n,scales,tile', [(4, ['1', '2', '4'], 96),
                                           (3, ['1', '3'], 64)])
def test_writes_png_of_expected_size(fmnist_root, tmp_path, n, scales, tile):
    out = tmp_path / 'masks.png'
    proc = run_tool(TOOL, '--out', out, '--num-images', n, '--scales',
                    *scales, '--tile', tile)
    assert proc.returncode == 0, proc.stderr
    img = cv2.imread(str(out))
    assert img.shape == (28 + n * tile, (2 + len(scales)) * tile, 3)
    # the masked columns differ from the image column (masks were drawn)
    row = img[28:28 + tile]
    assert (row[:, tile:2 * tile] != row[:, :tile]).any()
    # no label is cut at the right edge: the header's last 3 px are empty
    # (the header is black but for the labels)
    assert img[:28, -3:].max() == 0


def test_bad_scale_is_reported(tmp_path):
    proc = run_tool(TOOL, '--out', tmp_path / 'x.png', '--scales', '8')
    assert proc.returncode != 0 and '--scales: 8' in proc.stderr
