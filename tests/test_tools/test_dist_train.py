"""tools/dist_train.sh: two CPU processes (gloo) train the demo config."""
import os
import os.path as osp
import subprocess
import sys

from ..conftest import REPO


def test_dist_train_two_cpu_processes(fmnist_root, tmp_path):
    env = dict(os.environ, PYTHON=sys.executable, PORT='29651')
    cmd = [
        'bash', osp.join(REPO, 'tools/dist_train.sh'),
        osp.join(REPO, 'configs/demo/symmim_vit-tiny_fmnist.py'), '2',
        '--work-dir', str(tmp_path), '--cfg-options',
        'env_cfg.dist_cfg.backend=gloo', 'model.backbone.arch.num_layers=2',
        'train_dataloader.batch_size=8', 'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False',
        'custom_hooks.0.bank_dataloader.dataset.indices=200',
        'custom_hooks.0.test_dataloader.dataset.indices=100',
        'train_cfg.max_iters=3', 'default_hooks.logger.interval=1',
        'default_hooks.checkpoint.interval=3', 'param_scheduler.0.end=1',
        'param_scheduler.1.begin=1', 'param_scheduler.1.end=3'
    ]
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=600)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    assert 'Iter(train) [3/3]' in out
    assert (tmp_path / 'iter_3.pth').is_file()
    assert (tmp_path / 'knn.json').is_file()
