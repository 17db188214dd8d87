"""harness.run_tool: a tool run in the pytest process behaves as
``python tool.py ...`` would and leaves no trace for the next test."""
import os

import pytest
import torch
from mmengine.logging import MMLogger, MessageHub
from mmengine.registry import DefaultScope

from .harness import run_tool

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
