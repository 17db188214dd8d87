"""harness.run_tool: a tool run in the pytest process behaves as
``python tool.py ...`` would and leaves no trace for the next test."""
import os

import pytest
import torch
from mmengine.logging import MessageHub, MMLogger
from mmengine.registry import DefaultScope

from .harness import (
    MASK_TOKEN_DEMO,
    MIXMASK_DEMO,
    SYMMIM_DEMO,
    TINY_ARCH,
    run_tool,
    tiny_options,
)

TOOL = '''
import os, sys, warnings
import torch
from mmengine.logging import MMLogger, MessageHub
from mmengine.registry import init_default_scope
from mmpretrain.registry import MODELS
init_default_scope('mmdet')
MessageHub.get_instance('tool_hub')
MMLogger.get_instance('tool_logger', log_file=sys.argv[1] + '/log.txt')
MMLogger.get_current_instance().info('logged line')
os.environ['TOOL_VAR'] = '1'
os.chdir('/')
torch.manual_seed(123)
MODELS.register_module('SymMIM', module=object, force=True)
print('printed line')
warnings.warn('a warning')
if sys.argv[2] == 'message':
    sys.exit('one-line error')
if sys.argv[2] == 'raise':
    raise ValueError('boom')
'''


@pytest.mark.parametrize('ending,code', [('ok', 0), ('message', 1),
                                         ('raise', 1)])
def test_tool_runs_like_a_process_and_leaves_no_trace(tmp_path, ending, code):
    from mmpretrain.registry import MODELS
    script = tmp_path / 'tool.py'
    script.write_text(TOOL)
    scope = DefaultScope.get_current_instance()
    hub, logger = (MessageHub.get_current_instance(),
                   MMLogger.get_current_instance())
    symmim, cwd, rng = MODELS.get('SymMIM'), os.getcwd(), torch.get_rng_state()

    proc = run_tool(script, tmp_path, ending)

    assert proc.returncode == code
    assert 'printed line' in proc.stdout and 'logged line' in proc.stdout
    assert 'UserWarning: a warning' in proc.stderr
    assert ('one-line error' in proc.stderr) == (ending == 'message')
    assert ('ValueError: boom' in proc.stderr) == (ending == 'raise')
    assert 'Traceback' not in proc.stderr or ending == 'raise'
    assert 'logged line' in (tmp_path / 'log.txt').read_text()
    # what the tool changed is back
    assert DefaultScope.get_current_instance() is scope
    assert MessageHub.get_current_instance() is hub
    assert MMLogger.get_current_instance() is logger
    assert not MMLogger.check_instance_created('tool_logger')
    assert MODELS.get('SymMIM') is symmim
    assert 'TOOL_VAR' not in os.environ and os.getcwd() == cwd
    assert torch.equal(torch.get_rng_state(), rng)


@pytest.mark.parametrize('config', [SYMMIM_DEMO, MASK_TOKEN_DEMO,
                                    MIXMASK_DEMO],
                         ids=['visible', 'mask_token', 'mixmask'])
@pytest.mark.parametrize('iters', [2, 30])
def test_tiny_schedule_trains_at_the_configured_peak_lr(config, iters):
    """A tiny run's lr: the config's peak at the first two iterations (the
    one warm-up iteration, the cosine's start), then down to its floor, as
    mmengine's schedulers step it (the tiny run used to stay near 1e-6)."""
    from mmengine.config import Config, DictAction
    from mmengine.optim.scheduler import CosineAnnealingLR, LinearLR
    cfg = Config.fromfile(config, import_custom_modules=False)
    cfg.merge_from_dict({k: DictAction._parse_iterable(v) for k, v in (
        o.split('=', 1) for o in tiny_options(config, iters, TINY_ARCH))})
    peak = cfg.optim_wrapper.optimizer.lr
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], peak)
    kinds = dict(LinearLR=LinearLR, CosineAnnealingLR=CosineAnnealingLR)
    schedulers = [kinds[s.pop('type')](optimizer, **s)
                  for s in map(dict, cfg.param_scheduler)]
    lrs = []
    for _ in range(iters):
        lrs.append(optimizer.param_groups[0]['lr'])
        optimizer.step()
        for s in schedulers:
            s.step()
    assert lrs[:2] == [pytest.approx(peak)] * 2, lrs
    assert lrs == sorted(lrs, reverse=True), lrs
    if iters > 2:
        assert lrs[-1] < 0.05 * peak, lrs
