"""The SymMIM table of docs/symmim.md ("Where we follow the paper and where
we chose") against the code.

Every ``key=value`` code span of its "ours" column is read back from the
ViT-B config (or from the config file a cell names), every ``key=value`` of
its "other reading" column must be an option that exists there, and each
derived figure (token counts, the loss as it acts, the momentum) is measured
on the transform (here) or the model built from the config
(tests/test_paper_table_model.py). A change of a config default (say
``encoder_input`` or ``symmetric``) therefore fails until the table says the
same.
"""
import copy
import os.path as osp

import pytest
import torch

from .paper_table import (
    DERIVED,
    NOT_STATED,
    POINTS,
    REPO,
    ROWS,
    STATED,
    accepts,
    board,
    config,
    lookup,
    mask_generator,
    other_option,
    resolve,
    row_config,
    same,
    spans,
)


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
