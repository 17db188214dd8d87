"""``collate_fn`` of a config that inherits an ``mmpretrain::`` base.

Why: mmengine marks every ``type`` dict of a package base config with
``_scope_`` (e.g. ``collate_fn=dict(type='default_collate',
_scope_='mmpretrain')``), and mmengine 0.10.7's ``Runner.build_dataloader``
passes every other key of ``collate_fn`` to the function, so the first batch
of such a config dies with ``default_collate() got an unexpected keyword
argument '_scope_'`` (every ImageNet / folder config here inherits
mmpretrain's dataset bases). Fix: the function is looked up in the scope the
key names and ``_scope_`` is not passed on. Drop when mmengine does the same.
"""
import copy

from mmengine.registry import FUNCTIONS
from mmengine.runner import Runner

_build_dataloader = Runner.build_dataloader


def _resolve_scope(collate_fn: dict) -> dict:
    collate_fn = dict(collate_fn)
    scope = collate_fn.pop('_scope_')
    if isinstance(collate_fn.get('type'), str):
        with FUNCTIONS.switch_scope_and_registry(scope) as registry:
            fn = registry.get(collate_fn['type'])
        if fn is None:
            raise KeyError(f"collate_fn: {collate_fn['type']!r} is not in "
                           f"the {scope!r} FUNCTIONS registry")
        collate_fn['type'] = fn
    return collate_fn


def build_dataloader(dataloader, seed=None, diff_rank_seed=False):
    """mmengine's ``Runner.build_dataloader``, ``collate_fn._scope_`` read
    as a scope instead of passed to the function."""
    if isinstance(dataloader, dict) and isinstance(
            dataloader.get('collate_fn'), dict) \
            and '_scope_' in dataloader['collate_fn']:
        dataloader = copy.copy(dataloader)
        dataloader['collate_fn'] = _resolve_scope(dataloader['collate_fn'])
    return _build_dataloader(dataloader, seed=seed,
                             diff_rank_seed=diff_rank_seed)


Runner.build_dataloader = staticmethod(build_dataloader)
