"""study/training.py: iterations from the FLOP budget alone, the
schedule rule, a finished training not repeated, an interrupted one
resumed to the same weights (its clock: test_clock.py)."""
import time

import pytest
import torch

from study import clock as clk
from study import rows as sr
from study import small_scale as study
from study import stages as st
from study import training as trn


def test_iterations_follow_the_budget_alone(monkeypatch, tmp_path):
    """iterations = budget FLOPs // FLOPs per step, whatever the clock."""
    seen = {}

    def fake_train(cfg, work_dir, name, iters):
        seen['iters'] = iters
        return dict(wall_s=123.0, cpu_s=120.0, since=0)

    monkeypatch.setattr(trn, '_train', fake_train)
    monkeypatch.setattr(trn.sf, 'step_flops', lambda cfg, seed=0: 7_000)
    args = study.parse_args(['--smoke', '--work-dir', str(tmp_path)])
    job = dict(row='mae', seed=0, knobs={}, tag='t', budget_flops=100_000)
    out = trn.train(job, args)
    assert seen['iters'] == out['iters'] == 14  # 100,000 // 7,000
    assert out['train_flops'] == 98_000 and out['train_s'] == 123.0


@pytest.mark.parametrize('iters', [3, 13, 200])
def test_schedule_reaches_the_full_lr_and_ends_near_zero(iters):
    """10 % linear warm-up up to the full lr (also for a 1-step warm-up),
    then cosine down."""
    from mmengine.optim import OptimWrapper
    from mmengine.optim.scheduler import CosineAnnealingLR, LinearLR
    cfg = sr.row_config('mae')
    trn.fit_schedule(cfg, iters)
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


def tiny(row: str):
    """A study row at test size: batch 8, 64 images, width 32, 2 layers
    (ViT) or the row's ResNet-18 (ResNet)."""
    cfg = trn.train_config(row, {}, 0, smoke=True)
    cfg.train_dataloader.update(batch_size=8, num_workers=1,
                                persistent_workers=True)
    cfg.train_dataloader.dataset.indices = 64
    m = cfg.model
    if sr.ROWS[row].family == 'vit':
        m.backbone.arch = dict(embed_dims=32, num_layers=2, num_heads=2,
                               feedforward_channels=64)
        m.neck.update(in_channels=32, hid_channels=64, out_channels=16)
        m.head.predictor.update(in_channels=16, hid_channels=64,
                                out_channels=16)
        m.mim_neck.update(embed_dim=32, decoder_embed_dim=16,
                          decoder_num_heads=2)
    else:
        m.backbone.depth = 18
        m.queue_len = 16
    return cfg


class Interrupt(Exception):
    pass


@pytest.mark.parametrize('row', ['symmim-asymmetric', 'mixmask-mocov2'])
@pytest.mark.slow
def test_interrupted_run_resumes_to_the_same_weights(row, tmp_path,
                                                     monkeypatch):
    """4 iterations in one go == 3 iterations cut short after the
    checkpoint at 2 (the session ended), then the run started again: it
    resumes from iter_2, not from zero, and ends bit-identical (online and
    EMA weights, optimiser state)."""
    from mmengine.runner import IterBasedTrainLoop
    monkeypatch.setattr(trn, 'CKPT_EVERY', 2)
    cfg = tiny(row)
    trn._train(cfg, str(tmp_path / 'one'), 'one', 4)

    run_iter = IterBasedTrainLoop.run_iter

    def cut(self, data_batch):
        if self._iter == 2 and not getattr(cut, 'done', False):
            cut.done = True
            raise Interrupt
        return run_iter(self, data_batch)

    monkeypatch.setattr(IterBasedTrainLoop, 'run_iter', cut)
    with pytest.raises(Interrupt):
        trn._train(cfg, str(tmp_path / 'two'), 'two', 4)
    assert clk.resumed_at(str(tmp_path / 'two')) == 2
    seen = []
    monkeypatch.setattr(IterBasedTrainLoop, 'run_iter',
                        lambda self, b: seen.append(self._iter) or
                        run_iter(self, b))
    # the cut attempt's clock, made large: the resumed one must add to it
    cut = torch.load(tmp_path / 'two/iter_2.pth', weights_only=False)
    assert cut['run_clock']['since'] == 0 and cut['run_clock']['cpu_s'] > 0
    cut['run_clock'].update(wall_s=1000., cpu_s=2000.)
    torch.save(cut, tmp_path / 'two/iter_2.pth')
    t0, cpu0 = time.perf_counter(), clk.cpu_seconds()
    clock = trn._train(cfg, str(tmp_path / 'two'), 'two', 4)
    took = dict(wall_s=time.perf_counter() - t0,
                cpu_s=clk.cpu_seconds() - cpu0)
    assert seen == [2, 3]  # resumed, not restarted
    end = torch.load(tmp_path / 'two/iter_4.pth',
                     weights_only=False)['run_clock']
    assert end['since'] == clock['since'] == 0
    for k, carried in (('wall_s', 1000.), ('cpu_s', 2000.)):
        assert carried < end[k] <= clock[k] <= carried + took[k], k
    a = torch.load(tmp_path / 'one/iter_4.pth', weights_only=True)
    b = torch.load(tmp_path / 'two/iter_4.pth', weights_only=True)
    assert a['state_dict'].keys() == b['state_dict'].keys()
    for k in a['state_dict']:
        assert torch.equal(a['state_dict'][k], b['state_dict'][k]), k
    for i, state in a['optimizer']['state'].items():
        for name, v in state.items():
            assert torch.equal(v, b['optimizer']['state'][i][name]), name
    assert not (tmp_path / 'two/iter_2.pth').exists()  # one kept


def test_finished_training_is_not_repeated(monkeypatch, tmp_path):
    """Killed during evaluation: the next start finds the last checkpoint
    and train.json and goes straight to evaluation."""
    calls = []

    def fake_train(cfg, work_dir, name, iters):
        calls.append(iters)
        (tmp_path / 't').mkdir(exist_ok=True)
        (tmp_path / 't' / f'iter_{iters}.pth').write_bytes(b'')
        return dict(wall_s=5.0, cpu_s=5.0, since=0)

    monkeypatch.setattr(trn, '_train', fake_train)
    monkeypatch.setattr(trn.sf, 'step_flops', lambda cfg, seed=0: 7_000)
    args = study.parse_args(['--smoke', '--work-dir', str(tmp_path)])
    job = dict(row='mae', seed=0, knobs={}, tag='t', budget_flops=70_000)
    first = trn.train(job, args)
    assert trn.train(job, args) == first and calls == [10]


@pytest.mark.slow
def test_budget_list_multiplies_the_iterations(monkeypatch, tmp_path):
    """At 3x a row trains 3x its 1x iterations (to rounding) and 3x the
    FLOPs, from each row's own FLOPs per step: no timing involved."""
    seen = {}

    def fake_train(cfg, work_dir, name, iters):
        seen[name] = iters
        return dict(wall_s=1.0, cpu_s=1.0, since=0)

    monkeypatch.setattr(trn, '_train', fake_train)
    memo, count = {}, trn.sf.step_flops  # one real count per row

    def step_flops(cfg, seed=0):
        key = cfg.model.type + str(cfg.model.get('symmetric'))
        return memo.setdefault(key, count(cfg, seed)) if key not in memo \
            else memo[key]

    monkeypatch.setattr(trn.sf, 'step_flops', step_flops)
    args = study.parse_args(['--smoke', '--work-dir', str(tmp_path)])
    s = st.Study(dict(runs=[]), args, spawn=None)
    for row in ('symmim-asymmetric', 'mae'):
        out = {}
        for budget in (1, 3):
            job = s.job(row, 0, {}, ['test'], budget)
            assert job['budget_flops'] == int(s.budget_flops() * budget)
            out[budget] = trn.train(job, args)
        i1, i3 = out[1]['iters'], out[3]['iters']
        assert 3 * i1 <= i3 < 3 * i1 + 3, (row, i1, i3)
        assert seen[f'{row}_s0_default_x3'] == i3
        assert out[3]['train_flops'] <= 3 * s.budget_flops()
