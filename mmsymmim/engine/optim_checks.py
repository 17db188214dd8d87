"""One-line errors for bad optimiser, schedule and loop values of a config,
before the Runner is built (``tools/train.py``).

A ``--cfg-options`` typo such as ``optim_wrapper.optimizer.lr=fast`` used to
end in ``TypeError: can't multiply sequence by non-int of type 'float'`` deep
inside mmengine, at the first step; here it is one line naming the field,
the value given and what is allowed::

    config: `optim_wrapper.optimizer.lr` must be a number > 0, got 'fast'

Only the fields a config sets are checked; what a field does not say is left
to mmengine's defaults.
"""
from numbers import Real

from ..arg_checks import check_int, check_number

OWNER = 'config'
# optimiser field -> check_number's bounds (PyTorch's own, lr > 0 added)
OPTIMIZER = {
    'lr': dict(low=0, low_open=True),
    'weight_decay': dict(low=0),
    'momentum': dict(low=0, high=1),
}
# scheduler field -> bounds (mmengine's LinearLR / CosineAnnealingLR / ...)
SCHEDULER = {
    'start_factor': dict(low=0, high=1, low_open=True),
    'end_factor': dict(low=0, high=1),
    'T_max': dict(low=0, low_open=True),
    'eta_min': dict(low=0),
}


def _number(key: str, value, **bounds) -> None:
    check_number(OWNER, key, value, **bounds)


def check_optimizer(optimizer: dict, where: str) -> None:
    """lr, weight decay, momentum and betas of one optimiser config."""
    for field, bounds in OPTIMIZER.items():
        if optimizer.get(field) is not None:
            _number(f'{where}.{field}', optimizer[field], **bounds)
    betas = optimizer.get('betas')
    if betas is None:
        return
    ok = isinstance(betas, (list, tuple)) and len(betas) == 2 and all(
        isinstance(b, Real) and not isinstance(b, bool) and 0 <= b < 1
        for b in betas)
    if not ok:
        raise ValueError(f'{OWNER}: `{where}.betas` must be two numbers in '
                         f'[0, 1), e.g. (0.9, 0.999), got {betas!r}')


def check_scheduler(scheduler: dict, where: str) -> None:
    """begin / end (the warm-up length) and the factors of one scheduler."""
    begin, end = scheduler.get('begin'), scheduler.get('end')
    if begin is not None:
        check_int(OWNER, f'{where}.begin', begin, low=0)
    if end is not None:
        check_int(OWNER, f'{where}.end', end, low=1)
        if end <= (begin or 0):
            raise ValueError(f'{OWNER}: `{where}.end` must be an int > its '
                             f'`begin` ({begin}), got {end!r}')
    for field, bounds in SCHEDULER.items():
        if scheduler.get(field) is not None:
            _number(f'{where}.{field}', scheduler[field], **bounds)


def check_optim_schedule(cfg) -> None:
    """Check ``optim_wrapper.optimizer``, each ``param_scheduler`` and
    ``train_cfg.max_iters`` / ``max_epochs``; a ``ValueError`` of one line
    for the first bad value."""
    wrapper = cfg.get('optim_wrapper') or {}
    if isinstance(wrapper.get('optimizer'), dict):
        check_optimizer(wrapper['optimizer'], 'optim_wrapper.optimizer')
    schedulers = cfg.get('param_scheduler') or []
    if isinstance(schedulers, dict):
        check_scheduler(schedulers, 'param_scheduler')
    else:
        for i, scheduler in enumerate(schedulers):
            if isinstance(scheduler, dict):
                check_scheduler(scheduler, f'param_scheduler.{i}')
    loop = cfg.get('train_cfg') or {}
    for field in ('max_iters', 'max_epochs'):
        if loop.get(field) is not None:
            check_int(OWNER, f'train_cfg.{field}', loop[field])
