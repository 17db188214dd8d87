"""The SymMIM table of docs/symmim.md ("Where we follow the paper and where
we chose") against the code.

Every ``key=value`` code span of its "ours" column is read back from the
ViT-B config (or from the config file a cell names), every ``key=value`` of
its "other reading" column must be an option that exists there, and each
derived figure (token counts, the loss as it acts, the momentum) is measured
on the transform or the model built from the config. A change of a config
default (say ``encoder_input`` or ``symmetric``) therefore fails here until
the table says the same.
"""
import argparse
import copy
import functools
import inspect
import math
import os.path as osp
import re

import pytest
import torch
import torch.nn.functional as F
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


# ----------------------------------------------------- the table, row by row
def test_table_has_every_point_once_in_order():
    assert list(ROWS) == POINTS


@pytest.mark.parametrize('point', POINTS)
def test_paper_cell_says_when_the_text_is_silent(point):
    """A cell either states what the paper prints or says it does not."""
    paper = ROWS[point][0]
    assert paper, f'{point}: empty paper cell'
    if point not in STATED:
        assert NOT_STATED in paper, f'{point}: {paper}'


@pytest.mark.parametrize('point', POINTS)
def test_ours_matches_the_config(point):
    """Each ``key=value`` of the "ours" cell is the config's value; a row
    with none is measured by one of the tests below."""
    found = spans(ROWS[point][1])
    assert found or point in DERIVED, f'{point}: nothing checkable'
    cfgs = {}
    for path, key, value in found:
        cfg = cfgs.setdefault(path, config(path))
        actual = lookup(cfg, key)
        assert same(actual, value), (
            f'docs/symmim.md SymMIM table, row {point!r}: says '
            f'{key}={value!r} but {osp.relpath(path, REPO)} has {actual!r}: '
            'update the row')


def row_config(point: str) -> str:
    """The config a row is about: the last one its "ours" cell names, else
    the ViT-B config."""
    named = [s for s in SPAN.findall(ROWS[point][1]) if s.endswith('.py')]
    return osp.join(REPO, named[-1]) if named else VIT_B


@pytest.mark.parametrize('point', POINTS)
def test_other_reading_options_exist(point):
    """Each ``key=value`` of the "other reading" cell is a ``--cfg-options``
    that names an existing field (or an argument of its class) of the config
    the row is about, or, after another config file is named, a value of
    that file."""
    cfgs, base = {}, row_config(point)
    for path, key, value in spans(ROWS[point][2], default=base):
        cfg = cfgs.setdefault(path, config(path))
        if path != base:
            assert same(lookup(cfg, key), value), (point, path, key)
            continue
        node, leaf = resolve(cfg, key)
        if isinstance(node, list):
            assert int(leaf) < len(node), (point, key)
        elif leaf not in node:
            assert accepts(node, leaf), f'{point}: {key} is not an option'
        merged = copy.deepcopy(cfg)
        merged.merge_from_dict({key: value})
        assert same(lookup(merged, key), value), (point, key)


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


@pytest.mark.parametrize('point,field,scale_field', [
    ('online mask', 'phase', 'scale'),
    ('EMA mask', 'ema_phase', 'ema_scale'),
])
def test_board_and_the_papers_fixed_board(point, field, scale_field):
    """Default: the formula with k and a phase drawn per mask (both phases
    seen when 'random'). The table's option (phase 0): always the printed
    board, (floor(i/k) + floor(j/k)) mod 2 = 1."""
    torch.manual_seed(0)
    gen, gen_cfg = mask_generator()
    k = gen_cfg[scale_field]
    online, ema = gen.draw(64, 2)
    masks = (online if field == 'phase' else ema).flatten(0, 1)
    h, w = gen.grid
    phases = set()
    for m in masks:
        hits = [p for p in (0, 1) if torch.equal(m, board(h, w, k, p))]
        assert len(hits) == 1
        phases.update(hits)
    assert phases == ({0, 1} if gen_cfg[field] == 'random' else
                      {gen_cfg[field]})

    opts = other_option(point, field)
    assert list(opts.values()) == [0]
    gen0, _ = mask_generator(opts)
    online, ema = gen0.draw(64, 2)
    masks = (online if field == 'phase' else ema).flatten(0, 1)
    assert all(torch.equal(m, board(h, w, k, 0)) for m in masks)
    if k == 1:  # the paper's printed form, letter for letter
        i, j = torch.arange(h)[:, None], torch.arange(w)[None]
        assert torch.equal(masks[0], (i + j) % 2 == 1)


def test_mask_ratio_row_counts():
    torch.manual_seed(0)
    gen, _ = mask_generator()
    online, ema = gen.draw(64, 2)
    n = gen.grid[0] * gen.grid[1]
    on = sorted({int(c) for c in online.flatten(2).sum(-1).flatten()})
    em = sorted({int(c) for c in ema.flatten(2).sum(-1).flatten()})
    assert on == [n // 2]  # k = 1 on an even grid: exactly half
    cell = ROWS['mask ratio'][1]
    assert f'online: {on[0]} of {n} tokens' in cell, cell
    assert f"EMA: {' or '.join(map(str, em))} of {n}" in cell, cell


# --------------------------------------------------------------- the model
def test_vit_b_builds_what_the_table_says():
    """The full default ViT-B model: decoder, head, weights, phases."""
    from mmpretrain.registry import MODELS
    cfg = config(VIT_B)
    model = MODELS.build(cfg.model)
    neck = cfg.model.mim_neck
    assert type(model.mim_neck).__name__ == neck.type
    if neck.type == 'SymMIMDecoder':
        assert len(model.mim_neck.decoder_blocks) == neck.decoder_depth
        assert (model.mim_neck.decoder_embed.out_features ==
                neck.decoder_embed_dim)
        doc = open(DOC).read()
        blocks = 'block' if neck.decoder_depth == 1 else 'blocks'
        assert (f'{neck.decoder_depth} {blocks} of width '
                f'{neck.decoder_embed_dim} in the ViT-B config') in doc
    assert model.encoder_input == cfg.model.encoder_input
    assert model.symmetric == cfg.model.symmetric
    assert model.norm_target == cfg.model.norm_target
    assert model.head.temperature == cfg.model.head.temperature
    assert (model.head.loss_module.loss_weight ==
            cfg.model.head.loss.loss_weight)
    assert model.momentum_encoder.momentum == cfg.model.base_momentum


def test_class_default_is_the_configs_view_order():
    """A model built in a user's own config without ``symmetric`` gets the
    order the configs use, and the row says the class default is that."""
    from mmsymmim.models import SymMIM
    default = inspect.signature(SymMIM).parameters['symmetric'].default
    assert default is config(VIT_B).model.symmetric is False
    assert 'also the class default of `SymMIM`' in ROWS['symmetric loss'][1]


def tiny_vit_b(**overrides):
    """The ViT-B config (224 px, patch 16, its heads and weights) with a
    narrow 2-layer backbone, and masks drawn by its own pipeline generator."""
    from mmpretrain.registry import MODELS
    cfg = config(VIT_B)
    width = 64
    cfg.model.backbone.arch = dict(embed_dims=width, num_layers=2,
                                   num_heads=2, feedforward_channels=128)
    cfg.model.neck.in_channels = width
    key = ('embed_dim' if cfg.model.mim_neck.type == 'SymMIMDecoder' else
           'in_channels')
    cfg.model.mim_neck[key] = width
    cfg.model.mask_generator = copy.deepcopy(
        find_type(cfg.train_dataloader, 'SymmetricMaskGenerator'))
    cfg.model.update(overrides)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    model.train()
    return cfg, model


@pytest.fixture
def hub():
    from mmengine.logging import MessageHub
    h = MessageHub.get_current_instance()
    h.update_info('max_iters', 100)
    return h


def test_loss_as_it_acts_and_pairing(hub):
    """One step of the default model: which views pair, what weights the
    terms carry; the "loss weights" row writes out that formula."""
    from mmpretrain.structures import DataSample
    cfg, model = tiny_vit_b()
    calls = dict(ce=[], keys=[], mim=[], draw=[])

    loss_module = model.head.loss_module
    real_ce = loss_module.forward

    def ce(logits, labels, *args, **kwargs):
        out = real_ce(logits, labels, *args, **kwargs)
        calls['ce'].append((out, F.cross_entropy(logits, labels)))
        return out

    loss_module.forward = ce
    real_keys = model.momentum_keys

    def keys(views, masks):
        calls['keys'].append(views)
        return real_keys(views, masks)

    model.momentum_keys = keys
    real_mim = model.mim_head.loss

    def mim(pred, target, mask):
        out = real_mim(pred, target, mask)
        calls['mim'].append((out, mask))
        return out

    model.mim_head.loss = mim
    real_draw = model.mask_generator.draw

    def draw(*args, **kwargs):
        out = real_draw(*args, **kwargs)
        calls['draw'].append(out)
        return out

    model.mask_generator.draw = draw

    torch.manual_seed(0)
    x = [torch.randn(4, 3, 224, 224), torch.randn(4, 3, 224, 224)]
    losses = model.loss(x, [DataSample() for _ in range(4)])

    # pairing: the query of view v meets the key of the other view
    (views, ) = calls['keys']
    expect = [x[1], x[0]] if model.symmetric else [x[1]]
    assert len(views) == len(expect)
    assert all(v is e for v, e in zip(views, expect))

    # the contrastive weight as it acts on each InfoNCE term
    assert len(calls['ce']) == (2 if model.symmetric else 1)
    ratios = {round(float(out / plain), 6)
              for out, plain in ((o.detach(), p) for o, p in calls['ce'])}
    assert ratios == {cfg.model.head.loss.loss_weight}
    effective = round(model.con_loss_weight * ratios.pop(), 6)
    torch.testing.assert_close(
        losses['loss_con'],
        model.con_loss_weight * sum(out for out, _ in calls['ce']))

    # the MIM term: its weight, and scored on the online masks
    ((mim_out, mim_mask), ) = calls['mim']
    torch.testing.assert_close(losses['loss_mim'],
                               model.mim_loss_weight * mim_out)
    ((online, _), ) = calls['draw']
    views_used = [0, 1] if model.symmetric else [0]
    expect_mask = torch.cat([online[:, v] for v in views_used]).flatten(1)
    assert torch.equal(mim_mask.reshape(expect_mask.shape).bool(),
                       expect_mask)

    terms = ('(InfoNCE(q1, k2) + InfoNCE(q2, k1))' if model.symmetric else
             'InfoNCE(q1, k2)')
    formula = f'L = {model.mim_loss_weight:g} L_mim + {effective:g} {terms}'
    assert f'`{formula}`' in ROWS['loss weights as they act'][1]
    doc = open(DOC).read()
    assert (f'w_con x {cfg.model.head.loss.loss_weight:g}') in doc
    if model.symmetric:
        assert ('L_con = InfoNCE(q1, k2) + InfoNCE(q2, k1)'
                in ROWS['symmetric loss'][1])
        assert 'of the other view' in ROWS['contrastive pairing'][1]


def test_patches_scored_masked_only():
    """The config's pixel head (MAE's or SimMIM's) ignores what is predicted
    for visible patches and scores the masked ones."""
    from mmpretrain.registry import MODELS
    cfg = config(VIT_B)
    head = MODELS.build(cfg.model.mim_head)
    p, g = cfg.model.mim_head.patch_size, 14
    torch.manual_seed(0)
    target = torch.randn(2, 3, g * p, g * p)
    grid_mask = board(g, g, 1, 0).expand(2, -1, -1)
    if type(head).__name__ == 'MAEPretrainHead':  # (N, L, p*p*3) per patch
        pred = torch.randn(2, g * g, p * p * 3)
        mask = grid_mask.flatten(1).float()
        hidden_at = mask.bool()
    else:  # SimMIMHead: (N, 3, H, W) image, (N, h, w) mask
        pred = torch.randn(2, 3, g * p, g * p)
        mask = grid_mask
        hidden_at = mask.repeat_interleave(p, 1).repeat_interleave(
            p, 2).unsqueeze(1).expand_as(pred)
    base = head.loss(pred, target, mask)
    visible, hidden = pred.clone(), pred.clone()
    visible[~hidden_at] += 5
    hidden[hidden_at] += 5
    torch.testing.assert_close(head.loss(visible, target, mask), base)
    assert not torch.allclose(head.loss(hidden, target, mask), base)
    assert 'masked patches only' in ROWS['patches scored'][1]


def test_ema_momentum_row(hub):
    """m = 1 - mmengine's momentum: base at the first step, end at the last,
    cosine between."""
    cfg, model = tiny_vit_b()
    ema = model.momentum_encoder
    base, end = ema.momentum, ema.end_momentum
    assert base == cfg.model.base_momentum
    assert math.isclose(ema.momentum_at(0), base)
    assert math.isclose(ema.momentum_at(100), end, abs_tol=1e-12)
    assert math.isclose(ema.momentum_at(50), (base + end) / 2)
    assert set(ema.module.keys()) == {'backbone', 'neck'}
    cell = ROWS['EMA momentum'][1]
    assert f'm = {1 - base:g} at the first step' in cell, cell
    assert f'm = {1 - end:g} at the last on a cosine' in cell, cell
    assert 'backbone and projector' in cell


def test_augmentation_is_mocov3s_two_views():
    import mmpretrain
    cfg = config(VIT_B)
    mocov3 = Config.fromfile(
        osp.join(osp.dirname(mmpretrain.__file__), '.mim', 'configs',
                 'mocov3',
                 'mocov3_vit-base-p16_16xb256-amp-coslr-300e_in1k.py'))
    multiview = find_type(cfg.train_dataloader, 'MultiView')

    def plain(node):  # without the scope tags mmengine adds when it merges
        if isinstance(node, dict):
            return {k: plain(v) for k, v in node.items() if k != '_scope_'}
        if isinstance(node, (list, tuple)):
            return [plain(v) for v in node]
        return node

    assert plain(multiview.transforms) == plain(
        [mocov3.view_pipeline1, mocov3.view_pipeline2])
    probs = {t.type: t.get('prob') for t in mocov3.view_pipeline2}
    assert probs['GaussianBlur'] == 0.1 and probs['Solarize'] == 0.2
    assert "MoCo v3's two asymmetric views" in ROWS['augmentation'][1]
