"""Bad values of our own options get one line naming the key, the value
given and what is allowed, when the class is built (mmsymmim/arg_checks.py
and the classes that use it); and through tools/train.py, as a user types
them."""
import re

import pytest

from mmsymmim.arg_checks import (
    check_bool,
    check_choice,
    check_int,
    check_number,
)
from .harness import (
    MASK_TOKEN_DEMO,
    MIXMASK_DEMO,
    SYMMIM_DEMO,
    TRAIN,
    build_model,
    run_tool,
    tiny_cfg,
    tiny_options,
)


def symmim(**kw):
    return build_model(tiny_cfg(SYMMIM_DEMO, **kw))


def mixmask_moco(**kw):
    return build_model(tiny_cfg(MIXMASK_DEMO, **kw))


def mask_generator(**kw):
    from mmpretrain.registry import TRANSFORMS
    args = dict(type='SymmetricMaskGenerator', input_size=32,
                model_patch_size=4)
    return TRANSFORMS.build(dict(args, **kw))


def mixmask(**kw):
    from mmpretrain.registry import BATCH_AUGMENTS
    return BATCH_AUGMENTS.build(dict(type='MixMask', **kw))


def decoder(**kw):
    from mmpretrain.registry import MODELS
    args = dict(type='SymMIMDecoder', num_patches=64, patch_size=4,
                embed_dim=64, decoder_embed_dim=32, decoder_depth=1,
                decoder_num_heads=2)
    return MODELS.build(dict(args, **kw))


def hook(kind, **kw):
    from mmpretrain.registry import HOOKS
    args = dict(
        KNNEvalHook=dict(bank_dataloader=dict(dataset={}),
                         test_dataloader=dict(dataset={}), num_classes=10),
        ReconstructionVisHook={}, LossGuardHook={})[kind]
    return HOOKS.build(dict(type=kind, **dict(args, **kw)))


# (what, build(**{key: value}), key, bad value, what the line says is allowed)
CASES = [
    ('SymMIM', symmim, 'symmetric', 'maybe', 'True or False'),
    ('SymMIM', symmim, 'ema_masked', 1, 'True or False'),
    ('SymMIM', symmim, 'norm_target', 'no', 'True or False'),
    ('SymMIM', symmim, 'con_loss_weight', -1, '>= 0'),
    ('SymMIM', symmim, 'mim_loss_weight', float('nan'), '>= 0'),
    ('SymMIM', symmim, 'base_momentum', 1.5, 'in [0, 1]'),
    ('SymMIM', symmim, 'end_momentum', '0', 'in [0, 1]'),
    ('SymMIM', symmim, 'encoder_input', 'pixels', "('mask_token', 'visible')"),
    ('SymmetricMaskGenerator', mask_generator, 'phase', 2, "'random'"),
    ('SymmetricMaskGenerator', mask_generator, 'scale', 0, 'positive int'),
    ('SymmetricMaskGenerator', mask_generator, 'input_size', 30,
     'multiples of 4'),
    ('MixMask', mixmask, 'mask_ratio', 1.2, 'in (0, 1)'),
    ('MixMask', mixmask, 'mask_ratio', '0.5', 'in (0, 1)'),
    ('MixMask', mixmask, 'grid_size', 1, 'int >= 2'),
    ('MixMask', mixmask, 'mask_type', 'blocks', "('block', 'discrete')"),
    ('MixMask', mixmask, 'partner', 'next', "('reverse', 'random')"),
    ('MixMask', mixmask, 'per_sample', 'yes', 'True or False'),
    ('MixMask', mixmask, 'block_rounds', 0, 'int >= 1'),
    ('MixMaskMoCo', mixmask_moco, 'mix_loss_weight', -1, '>= 0'),
    ('SymMIMDecoder', decoder, 'decoder_depth', 0, 'int >= 1'),
    ('SymMIMDecoder', decoder, 'num_patches', 60, 'a square'),
    ('SymMIMDecoder', decoder, 'decoder_num_heads', 3, 'must divide'),
    ('SymMIMDecoder', decoder, 'mlp_ratio', 0, '> 0'),
    ('KNNEvalHook', lambda **kw: hook('KNNEvalHook', **kw), 'k', 0,
     'int >= 1'),
    ('KNNEvalHook', lambda **kw: hook('KNNEvalHook', **kw), 'temperature',
     -0.1, '> 0'),
    ('KNNEvalHook', lambda **kw: hook('KNNEvalHook', **kw), 'num_classes',
     1, 'int >= 2'),
    ('KNNEvalHook', lambda **kw: hook('KNNEvalHook', **kw), 'eval_before',
     'false', 'True or False'),
    ('KNNEvalHook', lambda **kw: hook('KNNEvalHook', **kw),
     'bank_dataloader', 'bank', 'data loader config'),
    ('ReconstructionVisHook', lambda **kw: hook('ReconstructionVisHook',
                                                **kw), 'interval', 0,
     'int >= 1'),
    ('ReconstructionVisHook', lambda **kw: hook('ReconstructionVisHook',
                                                **kw), 'num_images', 2.5,
     'int >= 1'),
    ('LossGuardHook', lambda **kw: hook('LossGuardHook', **kw), 'action',
     'warn', "('raise', 'skip')"),
]


@pytest.mark.parametrize('owner, build, key, value, allowed', CASES,
                         ids=[f'{c[0]}.{c[2]}={c[3]!r}' for c in CASES])
def test_bad_value_is_one_line_naming_key_value_and_allowed(
        owner, build, key, value, allowed):
    with pytest.raises(ValueError) as err:
        build(**{key: value})
    msg = str(err.value)
    assert '\n' not in msg, msg
    assert f'{owner}: `{key}`' in msg, msg
    assert repr(value) in msg or str(value) in msg, msg
    assert allowed in msg, msg


def test_symmim_needs_one_loss():
    with pytest.raises(ValueError, match='both 0: nothing to train'):
        symmim(mim_loss_weight=0, con_loss_weight=0)


def test_good_values_pass_and_are_returned():
    assert check_bool('A', 'k', False) is False
    assert check_int('A', 'k', 3) == 3
    assert check_number('A', 'k', 0, 0) == 0.0
    assert check_choice('A', 'k', 'x', ('x', 'y')) == 'x'
    with pytest.raises(ValueError, match=r"`k` must be an int >= 1, got True"):
        check_int('A', 'k', True)


def train_line(work_dir, config, *options):
    """tools/train.py (in this process) with a tiny demo run and
    ``options``: the exit status and the last line of its output."""
    proc = run_tool(TRAIN, config, '--work-dir', work_dir,
                    '--cfg-options', *tiny_options(config, 2), *options)
    lines = [ln for ln in proc.out.splitlines() if ln.strip()]
    return proc.returncode, lines[-1]


@pytest.mark.parametrize('option, says', [
    ('model.symmetric=maybe', "`symmetric` must be True or False, got "
     "'maybe'"),
    ('model.con_loss_weight=-1', '`con_loss_weight` must be a number >= 0'),
])
def test_train_refuses_bad_option_with_one_line(fmnist_root, tmp_path,
                                                option, says):
    code, last = train_line(tmp_path, SYMMIM_DEMO, option)
    assert code != 0
    assert says in last, last


@pytest.mark.parametrize('config, says', [
    (MASK_TOKEN_DEMO, ['contrastive loss needs a second image',
                       'BatchNorm in `neck.bn0`']),
    (MIXMASK_DEMO, ['MixMask fills each image from another image']),
])
def test_train_names_a_batch_too_small_before_the_first_step(
        fmnist_root, tmp_path, config, says):
    code, last = train_line(tmp_path, config, 'train_dataloader.batch_size=1')
    assert code != 0
    assert re.search(r'`train_dataloader.batch_size`=1 is too small: ', last)
    assert 'Allowed: at least 2 images per process' in last, last
    for reason in says:
        assert reason in last, last
    assert not list(tmp_path.glob('*.pth'))  # stopped before the first step


# --- optimiser, schedule and loop values (mmsymmim/engine/optim_checks.py) ---
def demo_cfg(**fields):
    """The MixMask demo's config (SGD: lr, momentum, weight decay) with
    ``{'a.b.c': value}`` fields set as ``--cfg-options`` would."""
    from mmengine.config import Config
    cfg = Config.fromfile(MIXMASK_DEMO, import_custom_modules=False)
    cfg.merge_from_dict(fields)
    return cfg


OPTIM_CASES = [
    ('optim_wrapper.optimizer.lr', 'fast', 'a number > 0'),
    ('optim_wrapper.optimizer.lr', -0.1, 'a number > 0'),
    ('optim_wrapper.optimizer.weight_decay', -1e-4, 'a number >= 0'),
    ('optim_wrapper.optimizer.weight_decay', 'none', 'a number >= 0'),
    ('optim_wrapper.optimizer.momentum', 1.5, 'a number in [0, 1]'),
    ('optim_wrapper.optimizer.betas', (0.9, 1.0), 'two numbers in [0, 1)'),
    ('optim_wrapper.optimizer.betas', 0.9, 'two numbers in [0, 1)'),
    ('param_scheduler.0.end', 0, 'an int >= 1'),
    ('param_scheduler.0.end', '20', 'an int >= 1'),
    ('param_scheduler.1.begin', -5, 'an int >= 0'),
    ('param_scheduler.1.end', 20, "an int > its `begin` (20)"),
    ('param_scheduler.0.start_factor', 0, 'a number in (0, 1]'),
    ('param_scheduler.1.T_max', 'long', 'a number > 0'),
    ('train_cfg.max_iters', 0, 'an int >= 1'),
    ('train_cfg.max_iters', 100.5, 'an int >= 1'),
    ('train_cfg.max_epochs', '10', 'an int >= 1'),
]


@pytest.mark.parametrize('field, value, allowed', OPTIM_CASES,
                         ids=[f'{c[0]}={c[1]!r}' for c in OPTIM_CASES])
def test_bad_optim_or_schedule_value_is_one_line(field, value, allowed):
    from mmsymmim.engine.optim_checks import check_optim_schedule
    with pytest.raises(ValueError) as err:
        check_optim_schedule(demo_cfg(**{field: value}))
    msg = str(err.value)
    assert '\n' not in msg, msg
    assert msg.startswith(f'config: `{field}` must be {allowed}'), msg
    assert msg.endswith(f'got {value!r}'), msg


def test_every_shipped_config_passes_the_optim_checks():
    import glob
    import os.path as osp

    from mmengine.config import Config

    from mmsymmim.engine.optim_checks import check_optim_schedule
    from .harness import REPO
    paths = [p for p in glob.glob(osp.join(REPO, 'configs/**/*.py'),
                                  recursive=True) if '/_base_/' not in p]
    assert len(paths) > 20
    for path in paths:
        check_optim_schedule(Config.fromfile(path,
                                             import_custom_modules=False))


@pytest.mark.parametrize('option, says', [
    ('optim_wrapper.optimizer.lr=fast',
     "config: `optim_wrapper.optimizer.lr` must be a number > 0, got 'fast'"),
    ('optim_wrapper.optimizer.betas=(0.9,2)',
     '`optim_wrapper.optimizer.betas` must be two numbers in [0, 1)'),
    ('param_scheduler.0.end=-1',
     '`param_scheduler.0.end` must be an int >= 1'),
    ('train_cfg.max_iters=-3', '`train_cfg.max_iters` must be an int >= 1'),
])
def test_train_refuses_bad_optim_option_before_the_first_step(
        fmnist_root, tmp_path, option, says):
    code, last = train_line(tmp_path, SYMMIM_DEMO, option)
    assert code != 0
    assert says in last, last
    assert not list(tmp_path.glob('*.pth')) and not list(tmp_path.iterdir())
