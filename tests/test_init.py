"""``import mmsymmim`` needs no detection or segmentation stack."""
import sys

import pytest

from .harness import MASK_TOKEN_DEMO, REPO, run

HIDE = ("import sys\n"
        "for name in ('mmdet', 'mmseg'):\n"
        "    sys.modules[name] = None  # import mmdet -> ImportError\n")


@pytest.fixture(scope='module')
def hidden_stack(fmnist_root):
    """One fresh interpreter with mmdet and mmseg hidden (this one has them
    imported): builds the demo model, then tries the downstream parts."""
    code = HIDE + (
        "import mmsymmim\n"
        "from mmengine.config import Config\n"
        "from mmengine.registry import init_default_scope\n"
        "from mmpretrain.registry import MODELS\n"
        "init_default_scope('mmpretrain')\n"
        f"cfg = Config.fromfile({MASK_TOKEN_DEMO!r})\n"
        "MODELS.build(cfg.model)\n"
        "assert not any(m.startswith(('mmdet.', 'mmseg.'))\n"
        "               for m in sys.modules)\n"
        "print('built')\n"
        "try:\n"
        "    import mmsymmim.downstream.det\n"
        "except ImportError as e:\n"
        "    print('needs', e.name)\n")
    proc = run([sys.executable, '-c', code], cwd=REPO, timeout=300)
    return proc.returncode, proc.stdout, proc.stderr[-3000:]


def test_import_without_mmdet_and_mmseg(hidden_stack):
    rc, out, err = hidden_stack
    assert rc == 0 and 'built' in out, err


def test_downstream_parts_are_opt_in(hidden_stack):
    rc, out, err = hidden_stack
    assert 'needs mmdet' in out, out + err
