import json
import os.path as osp
import subprocess
import sys

import pytest
import torch

from ...harness import REPO

TOOLS = osp.join(REPO, 'tools/analysis_tools')
SCRIPT = osp.join(TOOLS, 'small_scale_study.py')
sys.path.insert(0, TOOLS)
import small_scale_study as study  # noqa: E402
import study_rows as sr  # noqa: E402

VIT_ROWS = [r for r, s in sr.ROWS.items() if s.family == 'vit']
METRICS = ('knn', 'linear', 'finetune')


def test_smoke_end_to_end_and_resume(fmnist_root, tmp_path):
    """A trained row (MAE: one view, the cheapest) and raw-pixels through the
    whole study in --smoke mode: calibration, budgeted training, k-NN,
    linear probe and 1 %-label fine-tune; then a rerun skips both."""
    cmd = [sys.executable, SCRIPT, '--smoke', '--rows', 'mae', 'raw-pixels',
           '--seeds', '0', '--work-dir', str(tmp_path), '--results',
           str(tmp_path / 'res.json')]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    res = json.loads((tmp_path / 'res.json').read_text())
    assert res['protocol']['smoke'] and res['protocol']['budget_s'] == 3
    runs = {r['row']: r for r in res['runs']}
    assert set(runs) == {'mae', 'raw-pixels'}
    for r in runs.values():
        for m in METRICS:
            assert 0 <= r[m] <= 100, (r['row'], m, r[m])
        for m in ('knn', 'linear'):  # 10 classes: chance is 10 %
            assert r[m] > 30, (r['row'], m, r[m])
    mae = runs['mae']
    assert mae['knobs'] == {'lr': 1.0, 'decoder_depth': 1}
    assert mae['iters'] >= 2 and mae['s_per_iter'] > 0 and mae['train_s'] > 0
    assert osp.isfile(mae['checkpoint'])
    assert runs['raw-pixels']['iters'] == 0
    table = proc.stdout[proc.stdout.index('| row |'):]
    assert '| mae | ViT 128x4 |' in table and '| raw-pixels |' in table
    assert f'{runs["raw-pixels"]["knn"]:.2f} ± 0.00' in table

    again = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True,
                           timeout=300)
    assert again.returncode == 0, again.stderr[-3000:]
    assert json.loads((tmp_path / 'res.json').read_text()) == res
    assert '"row"' not in again.stdout  # nothing was run again


def test_other_protocol_is_refused(tmp_path):
    path = tmp_path / 'res.json'
    path.write_text(json.dumps(dict(protocol=dict(budget_s=1), runs=[],
                                    tune=[])))
    with pytest.raises(SystemExit, match='another protocol'):
        study.main(['--smoke', '--rows', 'raw-pixels', '--results',
                    str(path), '--work-dir', str(tmp_path)])


def test_rows_share_model_data_and_optimiser():
    """ViT rows: same ViT, batch, augmentation and optimiser; ResNet rows:
    same ResNet and optimiser; knobs change what they name."""
    cfgs = {r: sr.row_config(r) for r in sr.ROWS if sr.ROWS[r].base}
    vit = [cfgs[r] for r in VIT_ROWS]
    for cfg in vit:
        assert cfg.model.backbone.arch == dict(embed_dims=128, num_layers=4,
                                               num_heads=4,
                                               feedforward_channels=512)
        assert cfg.model.backbone.patch_size == 4
        assert cfg.train_dataloader.batch_size == 128
        assert cfg.optim_wrapper == vit[0].optim_wrapper
        pipe = cfg.train_dataloader.dataset.pipeline
        views = pipe[0].transforms[0] if pipe[0].type == 'MultiView' else \
            pipe[:-1]
        assert views == vit[0].view_pipeline
        assert cfg.custom_hooks == []
    assert cfgs['mae'].model.type == 'MAE'
    mae_neck, symmim_neck = cfgs['mae'].model.neck, \
        cfgs['symmim-visible'].model.mim_neck
    for key in ('decoder_depth', 'decoder_embed_dim', 'decoder_num_heads'):
        assert mae_neck[key] == symmim_neck[key], key
    moco, mixmask = cfgs['mocov2'], cfgs['mixmask-mocov2']
    assert moco.model.backbone == mixmask.model.backbone
    assert moco.optim_wrapper == mixmask.optim_wrapper
    assert cfgs['mocov2'].model.type == 'MoCo'

    c = sr.row_config('symmim-visible', dict(lr=2., w_con=0.5,
                                             decoder_depth=1, momentum=0.004))
    assert c.optim_wrapper.optimizer.lr == pytest.approx(3e-3)
    assert (c.model.con_loss_weight, c.model.mim_neck.decoder_depth,
            c.model.base_momentum) == (0.5, 1, 0.004)
    assert sr.row_config('mae', dict(lr=1., decoder_depth=1)).model.neck \
        .decoder_depth == 1
    assert sr.row_config('mocov2', dict(lr=1., momentum=0.004)) \
        .model.momentum == 0.004
    with pytest.raises(KeyError, match='w_con'):
        sr.row_config('mae', dict(w_con=2.))


@pytest.mark.parametrize('row', VIT_ROWS + ['mocov2'])
def test_trained_rows_build_and_eval_backbone_loads(row, tmp_path):
    """Every row's model builds; its backbone's tensors load into the
    evaluation backbone, which gives the pretraining backbone's own feature
    (class token after the final norm / pooled map) for the same weights."""
    from mmpretrain.registry import MODELS
    from mmsymmim.evaluation.finetune import encode, load_backbone
    torch.manual_seed(0)
    model = MODELS.build(sr.row_config(row).model)
    model.init_weights()
    path = tmp_path / 'ckpt.pth'
    torch.save(dict(state_dict=model.state_dict()), path)
    net = load_backbone(sr.eval_backbone(row), str(path))
    x = torch.randn(3, 3, 32, 32)
    model.eval()
    with torch.no_grad():
        own = model.backbone(x, None) if row == 'mae' else model.backbone(x)
    own = own[-1] if isinstance(own, tuple) else own
    own = own[:, 0] if own.dim() == 3 else own
    own = own.mean((2, 3)) if own.dim() == 4 else own
    assert torch.allclose(encode(net, x), own, atol=1e-5)


def test_tune_trials():
    seen = []

    def score(k):  # best: lr 2, w_con 0.5, depth 2, momentum 0.004
        seen.append(dict(k))
        return (k['lr'] == 2.) + (k['w_con'] == 0.5) + \
            (k['decoder_depth'] == 2) + (k['momentum'] == 0.004)

    best = sr.tune_trials('symmim-visible', score)
    assert best == dict(lr=2., w_con=0.5, decoder_depth=2, momentum=0.004)
    distinct = {json.dumps(k, sort_keys=True) for k in seen}
    assert len(distinct) == 7  # defaults + 2 lr + 2 w_con + 1 depth + 1 mom
    seen.clear()
    assert sr.tune_trials('symmim-visible', score, 'full') == best
    assert len(seen) == 3 * 3 * 2 * 2
    seen.clear()
    assert sr.tune_trials('mocov3', lambda k: -k['lr']) == dict(
        lr=0.5, momentum=0.01)


def test_best_knobs_by_validation_linear_probe():
    res = dict(tune=[
        dict(row='mae', knobs=dict(lr=1., decoder_depth=2), val_linear=70.),
        dict(row='mae', knobs=dict(lr=2., decoder_depth=2), val_linear=72.),
        dict(row='mocov3', knobs=dict(lr=.5, momentum=.01), val_linear=90.)])
    assert sr.best_knobs(res, 'mae') == dict(lr=2., decoder_depth=2)
    assert sr.best_knobs(res, 'mocov2') == sr.default_knobs('mocov2')
