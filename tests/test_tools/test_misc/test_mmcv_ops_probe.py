import importlib.util
import os.path as osp

import pytest
import torch

from ...harness import REPO


def _tool():
    path = osp.join(REPO, 'tools/misc/mmcv_ops_probe.py')
    spec = importlib.util.spec_from_file_location('mmcv_ops_probe', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_probe_is_deterministic_and_compare_flags_a_change(tmp_path, capsys):
    tool = _tool()
    a, b = tool.probe(), tool.probe()
    ran = [k for k, v in a.items() if not isinstance(v, str)]
    assert {'roi_align', 'nms', 'deform_conv2d', 'nms_rotated'} <= set(ran)
    torch.save(a, tmp_path / 'a.pt')
    torch.save(b, tmp_path / 'b.pt')
    assert tool.compare(tmp_path / 'a.pt', tmp_path / 'b.pt') == 0

    b['nms'][0] = b['nms'][0].clone()
    x = b['nms'][0][0, 0]
    b['nms'][0][0, 0] = torch.nextafter(x, x + 1)  # one value, one ulp
    torch.save(b, tmp_path / 'b.pt')
    assert tool.compare(tmp_path / 'a.pt', tmp_path / 'b.pt') == 1
    assert 'nms                        DIFFERENT' in capsys.readouterr().out


@pytest.mark.parametrize('missing', ['roi_align', 'nms'])
def test_compare_refuses_different_op_sets(tmp_path, missing):
    tool = _tool()
    a = tool.probe()
    torch.save(a, tmp_path / 'a.pt')
    torch.save({k: v for k, v in a.items() if k != missing}, tmp_path / 'b.pt')
    with pytest.raises(SystemExit, match=missing):
        tool.compare(tmp_path / 'a.pt', tmp_path / 'b.pt')
