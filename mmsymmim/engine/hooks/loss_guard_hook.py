"""Stop (or skip the step) when a loss term is NaN or inf."""
import torch
import torch.distributed as torch_dist
from mmengine.dist import is_distributed
from mmengine.hooks import Hook

from mmpretrain.registry import HOOKS
from .hook_utils import bare_model

ACTIONS = ('raise', 'skip')


def _term(value) -> torch.Tensor:
    """A loss term as one tensor (mmengine allows a list of tensors)."""
    return value if torch.is_tensor(value) else sum(value)


@HOOKS.register_module()
class LossGuardHook(Hook):
    """Check every ``loss*`` term of every iteration before the update.

    ``action='raise'`` stops the run with the iteration number and the names
    and values of the bad terms; ``action='skip'`` logs the same and skips
    that iteration's optimizer step (all ranks agree, so DDP stays in step;
    the EMA encoder, updated inside the forward, still moves that step).
    In the configs it is ``default_hooks.loss_guard``, so
    ``--cfg-options default_hooks.loss_guard.action=skip`` switches it.
    """
    priority = 'VERY_HIGH'

    def __init__(self, action: str = 'raise') -> None:
        if action not in ACTIONS:
            raise ValueError(f'LossGuardHook: `action` must be one of '
                             f'{ACTIONS}, got {action!r}')
        self.action = action

    def before_train(self, runner) -> None:
        model = bare_model(runner)
        parse_losses = model.parse_losses
        update_params = runner.optim_wrapper.update_params
        state = dict(bad=False)

        def guarded_parse_losses(losses):
            terms = {k: v for k, v in losses.items() if 'loss' in k}
            finite = torch.stack([
                torch.isfinite(_term(v)).all() for v in terms.values()
            ]).float()
            if is_distributed():
                torch_dist.all_reduce(finite, op=torch_dist.ReduceOp.MIN)
            state['bad'] = bool(finite.min() < 1)  # one host sync per step
            if state['bad']:
                self._report(runner, terms, finite)
            return parse_losses(losses)

        def guarded_update_params(loss, *args, **kwargs):
            if state['bad']:
                runner.optim_wrapper.zero_grad()
                return None
            return update_params(loss, *args, **kwargs)

        model.parse_losses = guarded_parse_losses
        runner.optim_wrapper.update_params = guarded_update_params

    def _report(self, runner, terms, finite) -> None:
        bad = {k: _term(v).detach().float().mean().item()
               for (k, v), ok in zip(terms.items(), finite.tolist()) if not ok}
        where = f'iteration {runner.iter + 1}'
        if not bad:
            bad = {'(another rank)': float('nan')}
        msg = (f'{where}: non-finite loss term(s) '
               + ', '.join(f'{k}={v}' for k, v in bad.items()))
        if self.action == 'raise':
            raise FloatingPointError(
                msg + '. Stopping; set default_hooks.loss_guard.action=skip '
                'to skip such steps instead.')
        runner.logger.warning(msg + '; optimizer step skipped.')
