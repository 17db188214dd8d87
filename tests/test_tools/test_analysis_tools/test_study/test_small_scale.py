import json
import os
import os.path as osp
import sys

import pytest
import torch

from ....harness import REPO

TOOLS = osp.join(REPO, 'tools/analysis_tools')
sys.path.insert(0, TOOLS)
from study import evaluate as se  # noqa: E402
from study import flops as sf  # noqa: E402
from study import rows as sr  # noqa: E402
from study import small_scale as study  # noqa: E402
from study import stages as st  # noqa: E402

VIT_ROWS = [r for r, s in sr.ROWS.items() if s.family == 'vit']


def tiny_symmim(B=8, C=32, layers=2, F=64, D=16, H=64, P=16):
    """The default SymMIM row shrunk: batch B, width C, MLP F, decoder
    width D (1 block), projector / predictor hidden H, output P."""
    cfg = sr.row_config('symmim-visible')
    cfg.train_dataloader.update(batch_size=B, num_workers=0,
                                persistent_workers=False)
    cfg.train_dataloader.dataset.indices = 64
    m = cfg.model
    m.backbone.arch = dict(embed_dims=C, num_layers=layers, num_heads=2,
                           feedforward_channels=F)
    m.neck.update(in_channels=C, hid_channels=H, out_channels=P)
    m.head.predictor.update(in_channels=P, hid_channels=H, out_channels=P)
    m.mim_neck.update(embed_dim=C, decoder_embed_dim=D, decoder_num_heads=2)
    return cfg


def hand_count(B=8, C=32, layers=2, F=64, D=16, H=64, P=16, w_con=True):
    """FLOPs (2 per multiply-add) of the matrix products of one SymMIM step
    (visible tokens, 32 px, patch 4: 64 patches, 32 visible on both boards;
    symmetric: 2B images through the online and the EMA encoder)."""
    patch = 2 * 32 * 48 * C  # projection of the 32 visible 4x4x3 patches

    def blocks(T, width, mlp, n):  # qkv + proj + MLP, then QK^T and AV
        return n * (2 * T * (4 * width * width + 2 * width * mlp)
                    + 4 * T * T * width)

    enc = blocks(33, C, F, layers)
    dec = 2 * 33 * C * D + blocks(65, D, 4 * D, 1) + 2 * 65 * D * 48
    proj = 2 * (C * H + H * H + H * P)
    pred = 2 * (P * H + H * P)
    if not w_con:
        return 2 * B * (3 * (enc + dec) + 2 * patch)
    online = enc + dec + proj + pred
    per_image = 3 * online + 2 * patch + (patch + enc + proj)  # + EMA fwd
    logits = 2 * (2 * B * B * P) * 2  # two q.k^T, forward + grad of q
    return 2 * B * per_image + logits


@pytest.mark.parametrize('w_con', [1., 0.])
def test_step_flops_match_a_hand_count(w_con):
    """FlopCounterMode over one real training step counts the matrix
    products a hand count gives (within 5 %); with w_con = 0 the
    contrastive branch and the EMA encoder cost nothing."""
    cfg = tiny_symmim()
    cfg.model.con_loss_weight = w_con
    counted = sf.step_flops(cfg)
    expected = hand_count(w_con=bool(w_con))
    assert counted == pytest.approx(expected, rel=0.05), (counted, expected)


def test_iterations_follow_the_budget_alone(monkeypatch, tmp_path):
    """iterations = budget FLOPs // FLOPs per step, whatever the clock."""
    seen = {}

    def fake_train(cfg, work_dir, name, iters):
        seen['iters'] = iters
        return dict(wall_s=123.0, cpu_s=120.0, since=0)

    monkeypatch.setattr(st, '_train', fake_train)
    monkeypatch.setattr(st.sf, 'step_flops', lambda cfg, seed=0: 7_000)
    args = study.parse_args(['--smoke', '--work-dir', str(tmp_path)])
    job = dict(row='mae', seed=0, knobs={}, tag='t', budget_flops=100_000)
    out = st.train(job, args)
    assert seen['iters'] == out['iters'] == 14  # 100,000 // 7,000
    assert out['train_flops'] == 98_000 and out['train_s'] == 123.0


def test_steps_diagnosis_trains_maes_iterations(monkeypatch, tmp_path):
    """The off-budget diagnosis: SymMIM (symmetric=False) at the iterations
    of MAE's seed-0 run, whatever the budget says."""
    seen = []

    def fake_train(cfg, work_dir, name, iters):
        seen.append((name, iters))
        os.makedirs(work_dir, exist_ok=True)  # the checkpoint, as mmengine
        open(osp.join(work_dir, f'iter_{iters}.pth'), 'wb').close()
        return dict(wall_s=1.0, cpu_s=1.0, since=0)

    monkeypatch.setattr(st, '_train', fake_train)
    monkeypatch.setattr(st.sf, 'step_flops', lambda cfg, seed=0: 7_000)
    monkeypatch.setattr(st.se, 'evaluate', lambda res, need, args: {
        e: dict(knn_cls=1., linear_cls=1., finetune=1.) for e in need})
    args = study.parse_args(['--smoke', '--work-dir', str(tmp_path),
                             '--rows', 'symmim-asymmetric'])
    import mmsymmim.datasets
    monkeypatch.setattr(mmsymmim.datasets, 'check_train_data', lambda cfg: 0)
    ckpt = tmp_path / 'mae.pth'
    ckpt.write_bytes(b'')
    mae = dict(row='mae', seed=0, knobs={}, iters=913, checkpoint=str(ckpt),
               evals=dict(val=dict(knn_cls=1., linear_cls=1.)))
    res = dict(runs=[mae], budget_flops=70_000)
    spawn = lambda job, a: st.run_job(job, a)  # noqa: E731
    st.Study(res, args, spawn).stage_diagnose()
    # the tune stage never ran: symmim-asymmetric at its default lr
    assert ('symmim-asymmetric_s0_steps=913', 913) in seen
    assert ('symmim-asymmetric_s0_default', 10) in seen  # 70,000 // 7,000
    run = next(r for r in res['runs'] if r['knobs'] == dict(steps=913)
               and r['seed'] == 0)
    assert run['iters'] == 913
    assert set(run['evals']) == {'val', 'val_ft', 'test'}
    # then seeded on test (seed 0's checkpoint reused, 1 and 2 trained)
    assert [n for n, i in seen if i == 913] == [
        'symmim-asymmetric_s0_steps=913', 'symmim-asymmetric_s1_steps=913',
        'symmim-asymmetric_s2_steps=913']
    # kept out of the main table, shown in its own beside MAE
    from study import report as rep
    assert rep.main_runs(res, 'symmim-asymmetric') == []  # tested: steps only
    table = '\n'.join(rep.steps_table(res))
    assert '| symmim-asymmetric at 913 steps | 913 |' in table
    assert '| 0,1,2 |' in table and '| mae | 913 |' not in table  # no test
    # without MAE's run and without mae in --rows: skipped, MAE not trained
    # (a fresh work dir: a finished training on disk is not repeated)
    res = dict(runs=[], budget_flops=70_000)
    args.work_dir = str(tmp_path / 'fresh')
    seen.clear()
    st.Study(res, args, spawn).stage_diagnose()
    assert seen == [('symmim-asymmetric_s0_default', 10)]
    with pytest.raises(ValueError, match="'steps' must be a positive int"):
        st.train(dict(row='symmim-asymmetric', seed=0, knobs=dict(steps='mae'),
                      tag='t', budget_flops=1), args)


@pytest.mark.slow
def test_smoke_end_to_end_and_resume(fmnist_root, tmp_path, monkeypatch):
    """A trained row (MAE: the cheapest step) and raw pixels through a
    --smoke study: FLOP budget, training, both readouts, k-NN, linear probe,
    1 %-label fine-tune; then a rerun spawns nothing."""
    argv = ['--smoke', '--stage', 'seeds', '--rows', 'mae', 'raw-pixels',
            '--seeds', '0', '--work-dir', str(tmp_path), '--results',
            str(tmp_path / 'res.json')]
    res = study.main(argv)
    saved = json.loads((tmp_path / 'res.json').read_text())
    assert saved['protocol']['smoke'] and saved['protocol']['bank'] == 600
    runs = {r['row']: r for r in saved['runs']}
    assert set(runs) == {'mae', 'raw-pixels'}
    mae = runs['mae']
    assert set(mae['evals']['test']) == {'knn_cls', 'knn_mean', 'linear_cls',
                                         'linear_mean', 'finetune'}
    for v in mae['evals']['test'].values():
        assert 0 <= v <= 100
    assert mae['evals']['test']['linear_cls'] > 30  # chance: 10 %
    assert mae['iters'] == saved['budget_flops'] // mae['flops_per_step']
    assert osp.isfile(mae['checkpoint'])
    assert runs['raw-pixels']['iters'] == 0
    assert set(runs['raw-pixels']['evals']['test']) == {
        'knn_pixels', 'linear_pixels', 'finetune'}
    table = st.report_tables(res, ['mae', 'raw-pixels'])
    assert '| mae | ViT 128x4 | default |' in table

    def no_spawn(job, args):
        raise AssertionError(f'{job["tag"]} ran again')

    monkeypatch.setattr(study, 'spawn', no_spawn)
    study.main(argv)
    assert json.loads((tmp_path / 'res.json').read_text()) == saved


def test_other_protocol_is_refused(tmp_path):
    path = tmp_path / 'res.json'
    path.write_text(json.dumps(dict(protocol=dict(budget_steps=1), runs=[])))
    with pytest.raises(SystemExit, match='another protocol'):
        study.main(['--smoke', '--rows', 'raw-pixels', '--results',
                    str(path), '--work-dir', str(tmp_path)])


def test_rows_share_model_data_and_optimiser():
    """ViT rows: same ViT, batch, augmentation and optimiser; ResNet rows:
    same ResNet and optimiser; each row and knob changes what it names."""
    cfgs = {r: sr.row_config(r) for r in sr.ROWS if sr.ROWS[r].base}
    vit = [cfgs[r] for r in VIT_ROWS]
    for cfg in vit:
        assert cfg.model.backbone.arch == dict(embed_dims=128, num_layers=4,
                                               num_heads=4,
                                               feedforward_channels=512)
        assert cfg.train_dataloader.batch_size == 128
        assert cfg.optim_wrapper == vit[0].optim_wrapper
        pipe = cfg.train_dataloader.dataset.pipeline
        views = pipe[0].transforms[0] if pipe[0].type == 'MultiView' else \
            pipe[:-1]
        assert views == vit[0].view_pipeline
        assert cfg.custom_hooks == []
    assert cfgs['symmim-asymmetric'].model.symmetric is False
    rnd = cfgs['symmim-random-0.5']
    assert rnd.model.encoder_input == 'visible'
    sim = [t for t in rnd.train_dataloader.dataset.pipeline
           if t.type == 'SimMIMMaskGenerator'][0]
    assert (sim.mask_patch_size, sim.mask_ratio) == (4, 0.5)
    mae_neck = cfgs['mae'].model.neck
    for key in ('decoder_depth', 'decoder_embed_dim', 'decoder_num_heads'):
        assert mae_neck[key] == cfgs['symmim-visible'].model.mim_neck[key]
    moco, mixmask = cfgs['mocov2'], cfgs['mixmask-mocov2']
    assert moco.model.backbone == mixmask.model.backbone
    assert moco.optim_wrapper == mixmask.optim_wrapper
    # the ResNet rows start from the pinned recipe (KNOBS), whatever the
    # MixMask demo config now holds
    for r in (moco, mixmask):
        assert r.optim_wrapper.optimizer.lr == pytest.approx(0.06)
        assert (r.model.queue_len, r.model.momentum, r.model.head.temperature,
                r.model.backbone.norm_cfg) == (4096, 0.01, 0.2,
                                               dict(type='BN'))
    c = sr.row_config('symmim-visible', dict(lr=2., w_con=0.5,
                                             norm_target=True))
    assert c.optim_wrapper.optimizer.lr == pytest.approx(3e-3)
    assert (c.model.con_loss_weight, c.model.norm_target) == (0.5, True)
    r = sr.row_config('mocov2', dict(queue_len=1024, crop_min=0.6,
                                     temperature=0.5, bn_splits=8))
    assert (r.model.queue_len, r.model.head.temperature) == (1024, 0.5)
    assert r.model.backbone.norm_cfg == dict(type='SplitBatchNorm',
                                             num_splits=8)
    crop = r.train_dataloader.dataset.pipeline[0].transforms[0][0]
    assert crop.crop_ratio_range == (0.6, 1.)
    with pytest.raises(KeyError, match='w_con'):
        sr.row_config('mae', dict(w_con=2.))


@pytest.mark.parametrize('row', ['symmim-visible', 'mae', 'mocov2'])
def test_readouts_are_the_pretraining_backbones_features(row, tmp_path):
    """The evaluation backbone loads every tensor of the row's backbone and
    its readouts are the pretraining backbone's class token / mean of the
    patch tokens after the final norm (ResNet: pooled map)."""
    from mmpretrain.registry import MODELS
    from mmsymmim.evaluation.finetune import load_backbone
    torch.manual_seed(0)
    model = MODELS.build(sr.row_config(row).model)
    model.init_weights()
    path = tmp_path / 'ckpt.pth'
    torch.save(dict(state_dict=model.state_dict()), path)
    net = load_backbone(sr.eval_backbone(row), str(path))
    x = torch.randn(3, 3, 32, 32)
    model.eval()
    net.eval()
    with torch.no_grad():
        own = model.backbone(x, None) if row == 'mae' else model.backbone(x)
        own = own[-1] if isinstance(own, tuple) else own
        got = {m: se.Readout(net, m)(x) for m in se.READOUTS[
            sr.ROWS[row].family]}
    if own.dim() == 4:
        assert torch.allclose(got['pool'], own.mean((2, 3)), atol=1e-5)
        return
    if own.dim() == 2:  # SymMIMViT's unmasked output: the class token
        assert torch.allclose(got['cls'], own, atol=1e-5)
    else:  # MAEViT(mask=None) gives every token
        assert torch.allclose(got['cls'], own[:, 0], atol=1e-5)
        assert torch.allclose(got['mean'], own[:, 1:].mean(1), atol=1e-5)
    tokens = net(x)[-1]
    assert torch.allclose(got['mean'], tokens[:, 1:].mean(1))


def test_tuning_picks_the_best_validation_linear_probe(tmp_path):
    args = study.parse_args(['--smoke', '--work-dir', str(tmp_path)])
    runs = [dict(row='mae', seed=0, knobs=k, evals=dict(val=v)) for k, v in (
        ({'lr': 0.5}, dict(linear_cls=70., linear_mean=71.)),
        ({}, dict(linear_cls=72., linear_mean=69.)),
        ({'lr': 2.0}, dict(linear_cls=60., linear_mean=72.)))]
    s = st.Study(dict(runs=runs), args, spawn=None)
    assert s.chosen('mae') == {}  # 72 (class token) first of equals
    runs[2]['evals']['val']['linear_mean'] = 73.
    assert s.chosen('mae') == {'lr': 2.0}
    assert s.chosen('mocov3') == {}  # not tuned: defaults
    s.results['resnet_recipe'] = dict(knobs=dict(lr=0.5, queue_len=1024))
    assert s.lr('mocov2', 2.0) == dict(lr=1.0, queue_len=1024)
    assert st.clean(s.lr('mocov2', 2.0)) == dict(queue_len=1024)


@pytest.mark.parametrize('iters', [3, 13, 200])
def test_schedule_reaches_the_full_lr_and_ends_near_zero(iters):
    """10 % linear warm-up up to the full lr (also for a 1-step warm-up),
    then cosine down."""
    from mmengine.optim import OptimWrapper
    from mmengine.optim.scheduler import CosineAnnealingLR, LinearLR
    cfg = sr.row_config('mae')
    sr.fit_schedule(cfg, iters)
    opt = torch.optim.SGD(torch.nn.Linear(2, 2).parameters(), lr=1.0)
    kinds = dict(LinearLR=LinearLR, CosineAnnealingLR=CosineAnnealingLR)
    scheds = [kinds[c['type']](OptimWrapper(opt), **{
        k: v for k, v in c.items() if k != 'type'})
        for c in cfg.param_scheduler]
    lrs = []
    for _ in range(iters):
        lrs.append(opt.param_groups[0]['lr'])
        opt.step()
        for s in scheds:
            s.step()
    assert lrs[0] == pytest.approx(1e-3)
    assert max(lrs) == pytest.approx(1.0)
    if iters >= 13:
        assert lrs[-1] < 0.05


def test_report_fills_the_marked_block_and_draws_the_figure(tmp_path):
    from study import report as rep
    runs = [dict(row='mae', seed=s, knobs={}, iters=913,
                 flops_per_step=13.9e9,
                 evals=dict(test=dict(knn_cls=70. + s, knn_mean=71.,
                                      linear_cls=75., linear_mean=76.,
                                      finetune=74. - s)))
            for s in (0, 1)]
    runs.append(dict(row='raw-pixels', seed=0, knobs={}, iters=0,
                     evals=dict(test=dict(knn_pixels=85., linear_pixels=84.,
                                          finetune=74.))))
    doc = tmp_path / 'doc.md'
    doc.write_text(f'intro\n{rep.BEGIN}\nold\n{rep.END}\nafter\n')
    png = tmp_path / 'fig.png'
    rep.write_report(dict(runs=runs), ['mae', 'raw-pixels'], str(doc),
                     str(png))
    text = doc.read_text()
    assert text.startswith('intro\n') and text.endswith('after\n')
    assert 'old' not in text
    assert '| mae | ViT 128x4 | default | 913 | 13.9 | 70.50 ± 0.71 ' \
           '(70.00, 71.00) |' in text
    assert '| raw-pixels | - | default | 0 | 0.0 | 85.00 |' in text
    assert png.read_bytes()[:4] == b'\x89PNG'
    (tmp_path / 'bad.md').write_text('no markers')
    with pytest.raises(ValueError, match='markers'):
        rep.write_report(dict(runs=runs), ['mae'], str(tmp_path / 'bad.md'),
                         str(png))


def test_report_tunes_resnet_rows_around_their_recipe():
    from study import report as rep

    def run(row, knobs, knn, seed=0):
        return dict(row=row, seed=seed, knobs=knobs, iters=351,
                    evals=dict(val=dict(knn_pool=knn, linear_pool=knn + 1)))

    recipe = dict(bn_splits=8, lr=0.5)
    runs = [run('random-init-resnet', {}, 74.),
            run('mocov2', {}, 73.),
            run('mocov2', dict(bn_splits=8), 75.),
            run('mocov2', recipe, 76.),
            run('mocov2', dict(bn_splits=8, lr=0.25), 75.5),
            run('mocov2', dict(bn_splits=8, lr=0.5, queue_len=1024), 75.9),
            run('mocov2', recipe, 70., seed=1)]
    res = dict(runs=runs)
    assert sr.tune_runs(res, 'mocov2') == []  # no recipe yet
    res['resnet_recipe'] = dict(knobs=recipe)
    tuned = sr.tune_runs(res, 'mocov2')
    # lr x0.5 / x1 / x2 of the recipe's 0.5: 0.25, 0.5 and 1.0 (the last
    # is the bn_splits-only run); the queue trial and seed 1 are not tuning
    assert [r['knobs'].get('lr', 1.) for r in tuned] == [0.25, 0.5, 1.0]
    table = rep.report_tables(res, ['mocov2', 'random-init-resnet'])
    assert '| mocov2 (chosen) | bn_splits=8,lr=0.5 | 351 | 76.0 | 77.0 |' \
        in table
    assert '| random-init-resnet | default | 351 | 74.0 | 75.0 |' in table
    assert table.count('| mocov2 | bn_splits=8,lr=0.25 |') == 2  # both tables


def test_timing_table_reads_the_runs_at_equal_wall_clock():
    from study import report as rep

    def run(row, iters, gflop):
        return dict(row=row, seed=0, knobs={}, iters=iters,
                    flops_per_step=gflop * 1e9, evals=dict(test={}))

    res = dict(runs=[run('symmim-visible', 200, 60.), run('mae', 900, 12.)],
               timing={'symmim-visible': dict(s_per_iter=0.5),
                       'mae': dict(s_per_iter=0.15)})
    table = rep.timing_table(res)
    # 200 x 0.5 s = 100 s of the default row; MAE's 0.15 s/iter gives 667
    assert '| symmim-visible | 60.0 | 200 | 0.500 | 120 | 100 | 200 |' in table
    assert '| mae | 12.0 | 900 | 0.150 | 80 | 135 | 667 |' in table
    del res['timing']['symmim-visible']  # no reference row: no table
    assert rep.timing_table(res) == []


@pytest.mark.parametrize('row,symmetric', [
    ('symmim-visible', True), ('symmim-random-0.5', True),
    ('symmim-mask-token', True), ('symmim-asymmetric', False)])
def test_symmim_rows_pin_symmetric_whatever_the_demo_says(row, symmetric):
    """The demo took symmetric=False from the study; the study's rows keep
    what they were when it ran, and its asymmetric row is the demo."""
    from mmengine.config import Config
    demo = Config.fromfile(sr.SYMMIM_DEMO)
    assert demo.model.symmetric is False
    assert demo.train_cfg.max_iters == 400
    assert sr.row_config(row).model.symmetric is symmetric
    if row == 'symmim-asymmetric':
        assert sr.row_config(row).model == demo.model


def test_demo_spends_the_studys_budget():
    """The demo's 400 one-order steps cost the study's budget (200 steps of
    symmim-visible), by the FLOPs the study measured per step."""
    res = json.load(open(osp.join(REPO, 'docs/small_scale_study_flops.json')))
    flops = {r['row']: r['flops_per_step'] for r in res['runs']
             if 'flops_per_step' in r}
    assert abs(400 * flops['symmim-asymmetric'] / res['budget_flops'] - 1) \
        < 0.01
    assert res['budget_flops'] == 200 * flops['symmim-visible']
