"""Reading the SymMIM table of docs/symmim.md ("Where we follow the paper and
where we chose"): its rows, their ``key=value`` code spans as
``--cfg-options`` on the configs they name, and the masks the rows describe.
The tests are tests/test_paper_table.py (the table against the configs and
the masks) and tests/test_paper_table_model.py (the model built from them).
"""
import argparse
import copy
import functools
import inspect
import math
import os.path as osp
import re

import torch
from mmengine.config import Config, DictAction

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
DOC = osp.join(REPO, 'docs', 'symmim.md')
VIT_B = osp.join(REPO, 'configs/symmim/'
                 'symmim_vit-base-p16_16xb256-amp-coslr-600e_in1k.py')
HEADING = '## Where we follow the paper and where we chose'

# The points the table must cover (issue 22), in its order.
POINTS = [
    'online mask', 'EMA mask', 'mask ratio', 'encoder input', 'pixel decoder',
    'pixel target', 'pixel loss', 'patches scored', 'contrastive pairing',
    'symmetric loss', 'temperature', 'loss weights as they act',
    'EMA momentum', 'schedule and optimiser', 'augmentation',
    'fine-tune pooling'
]
# Rows whose "ours" cell is (also) checked by a measuring test below.
DERIVED = {
    'online mask', 'EMA mask', 'mask ratio', 'pixel decoder',
    'patches scored', 'contrastive pairing', 'symmetric loss',
    'loss weights as they act', 'EMA momentum', 'augmentation'
}
NOT_STATED = 'not stated in the public text'
# Rows the public text settles whole; every other paper cell says what it
# leaves open in those words.
STATED = {'online mask', 'EMA mask', 'mask ratio'}

SPAN = re.compile(r'`([^`]+)`')
KEY_VALUE = re.compile(r'^([A-Za-z_][\w.]*)=(\S.*)$')


# ------------------------------------------------------------------ parsing
def table() -> dict:
    """``{point: (paper, ours, other)}`` from docs/symmim.md."""
    text = open(DOC).read()
    assert HEADING in text, f'docs/symmim.md lost the heading {HEADING!r}'
    rows, started = {}, False
    for line in text[text.index(HEADING):].splitlines()[1:]:
        if not line.startswith('|'):
            if started:
                break
            continue
        started = True
        if set(line.strip()) <= set('|-'):  # the separator
            continue
        cells = [c.strip() for c in line.strip().strip('|').split(' | ')]
        if cells[0] == 'point':  # the header
            continue
        assert len(cells) == 4, f'row with {len(cells)} cells: {line}'
        rows[cells[0]] = tuple(cells[1:])
    return rows


@functools.lru_cache(maxsize=None)
def _load(path: str) -> Config:
    return Config.fromfile(path)


def config(path: str) -> Config:
    """A config, parsed once per session; each call gets its own copy."""
    return copy.deepcopy(
        _load(path if osp.isabs(path) else osp.join(REPO, path)))


def parse_option(span: str) -> tuple:
    """``key=value`` as ``--cfg-options`` (mmengine's DictAction) reads it."""
    parser = argparse.ArgumentParser()
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    ((key, value), ) = parser.parse_args(['--cfg-options',
                                          span]).cfg_options.items()
    return key, value


def spans(cell: str, default: str = VIT_B):
    """``(config path, key, value)`` for each ``key=value`` span; a span
    naming a ``.py`` file switches the config for the rest of the cell."""
    default = default if osp.isabs(default) else osp.join(REPO, default)
    path, out = default, []
    for span in SPAN.findall(cell):
        if span.endswith('.py'):
            path = osp.join(REPO, span)
            assert osp.isfile(path), f'no config {span}'
        elif KEY_VALUE.match(span):
            key, value = parse_option(span)
            assert '.' in key, (f'`{span}` in the docs/symmim.md table: '
                                'write the full --cfg-options key')
            out.append((path, key, value))
    return out


def find_type(node, name):
    """The first dict with ``type == name`` under ``node``."""
    if isinstance(node, dict):
        if node.get('type') == name:
            return node
        children = list(node.values())
    elif isinstance(node, (list, tuple)):
        children = list(node)
    else:
        return None
    for child in children:
        found = find_type(child, name)
        if found is not None:
            return found
    return None


def resolve(cfg: Config, key: str):
    """``(parent node, leaf name)`` of a span's key: a dotted config path, or
    ``Type.field`` for the first ``Type`` in the train data, then the model."""
    parts = key.split('.')
    if parts[0][:1].isupper():
        node = (find_type(cfg.train_dataloader, parts[0])
                or find_type(cfg.model, parts[0]))
        assert node is not None, f'no {parts[0]} in the config'
        parts = parts[1:]
    else:
        node = cfg
    for part in parts[:-1]:
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node, parts[-1]


def lookup(cfg: Config, key: str):
    node, leaf = resolve(cfg, key)
    return node[int(leaf)] if isinstance(node, list) else node[leaf]


def same(a, b) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b


def accepts(node: dict, leaf: str) -> bool:
    """``leaf`` is an argument of the class ``node['type']`` names (or of a
    base class it hands ``**kwargs`` to)."""
    from mmpretrain.registry import MODELS, TRANSFORMS
    cls = MODELS.get(node['type']) or TRANSFORMS.get(node['type'])
    assert cls is not None, f"{node['type']} is not registered"
    return any(leaf in inspect.signature(c.__init__).parameters
               for c in cls.__mro__ if '__init__' in vars(c))


ROWS = table()


def row_config(point: str) -> str:
    """The config a row is about: the last one its "ours" cell names, else
    the ViT-B config."""
    named = [s for s in SPAN.findall(ROWS[point][1]) if s.endswith('.py')]
    return osp.join(REPO, named[-1]) if named else VIT_B


# ---------------------------------------------------------------- the masks
def mask_generator(options: dict = None):
    from mmpretrain.registry import TRANSFORMS
    cfg = config(VIT_B)
    if options:
        cfg.merge_from_dict(options)
    gen_cfg = find_type(cfg.train_dataloader, 'SymmetricMaskGenerator')
    return TRANSFORMS.build(copy.deepcopy(gen_cfg)), gen_cfg


def board(h, w, k, phase):
    i = torch.arange(h)[:, None] // k
    j = torch.arange(w)[None] // k
    return (i + j + phase) % 2 == 1


def other_option(point: str, field: str) -> dict:
    """The table's option for ``field`` in the row's "other reading"."""
    opts = {key: value for _, key, value in spans(ROWS[point][2])
            if key.endswith('.' + field)}
    assert len(opts) == 1, f'{point}: no single option for {field}'
    return opts
