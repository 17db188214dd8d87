"""Fail a downstream run whose backbone did not load its checkpoint.

mmengine's ``Pretrained`` initialiser loads with ``strict=False``: a prefix
that matches other tensors than the backbone's (or ``prefix=None`` on a
checkpoint whose tensors all start with ``backbone.``) loads nothing and only
logs a warning, and the detector then fine-tunes from random init while the
run looks pretrained. :class:`PretrainedCheckHook` compares, before the
first training step (not after a resume: those weights are trained), every
backbone tensor with the checkpoint's under the configured prefix
(the position embedding by its shape only: the ViTs resize it on load).
"""
import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS


def check_backbone_loaded(backbone, init_cfg: dict) -> int:
    """Number of tensors checked; ``KeyError`` / ``ValueError`` naming the
    prefix and the tensors when the backbone does not hold the checkpoint's
    tensors under ``init_cfg['prefix']``."""
    from mmengine.runner.checkpoint import _load_checkpoint
    ckpt = _load_checkpoint(init_cfg['checkpoint'], map_location='cpu')
    full = ckpt.get('state_dict', ckpt)
    prefix = init_cfg.get('prefix') or ''
    if prefix and not prefix.endswith('.'):
        prefix += '.'
    src = {k[len(prefix):]: v for k, v in full.items()
           if k.startswith(prefix)}
    own = backbone.state_dict()
    missing = [k for k in own if k not in src]
    if missing:
        heads = sorted({k.split('.')[0] + '.' for k in full})
        raise KeyError(
            f'backbone init_cfg prefix={init_cfg.get("prefix")!r}: '
            f'{len(missing)} of {len(own)} backbone tensors are not in '
            f'{init_cfg["checkpoint"]} under it (e.g. {missing[:3]}); the '
            f"checkpoint's prefixes are {heads} (a pretraining checkpoint "
            "of this plugin holds the encoder under 'backbone.')")
    differ = [k for k in own if 'pos_embed' not in k and not torch.equal(
        own[k].cpu(), src[k].to(own[k].dtype))]
    if differ:
        raise ValueError(
            f'backbone tensors {differ[:3]} (of {len(differ)}) differ from '
            f'{init_cfg["checkpoint"]} (prefix {init_cfg.get("prefix")!r}): '
            'they were not loaded, or were re-initialised after loading')
    return len(own)


@HOOKS.register_module()
class PretrainedCheckHook(Hook):
    """Run :func:`check_backbone_loaded` when the model's backbone has a
    ``Pretrained`` ``init_cfg``, before training from iteration 0 (a resumed
    run holds trained weights) and before testing."""

    priority = 'HIGH'

    def _check(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        init_cfg = getattr(model.backbone, 'init_cfg', None)
        if isinstance(init_cfg, dict) and init_cfg.get('type') == \
                'Pretrained':
            check_backbone_loaded(model.backbone, init_cfg)

    def before_train(self, runner) -> None:
        if runner.iter == 0:
            self._check(runner)
