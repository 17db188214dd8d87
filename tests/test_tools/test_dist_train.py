"""tools/dist_train.sh: two CPU processes (gloo) train the demo config."""
import pytest

from ..harness import run_dist_train

pytestmark = pytest.mark.slow  # torchrun with 2 ranks


def test_dist_train_two_cpu_processes(fmnist_root, tmp_path):
    out = run_dist_train(tmp_path, 2, iters=3).out
    assert 'Iter(train) [3/3]' in out
    assert (tmp_path / 'iter_3.pth').is_file()
    assert (tmp_path / 'knn.json').is_file()
