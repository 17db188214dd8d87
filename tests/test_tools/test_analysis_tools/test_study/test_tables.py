"""study/tables.py: a cell of per-seed values, a metric by readout, and
the marked block of a page."""
import pytest

from study import tables as tb


def test_cell_and_first_readout():
    assert tb.cell([]) == tb.cell([None]) == ''
    assert tb.cell([70.]) == '70.00'
    assert tb.cell([70., 72., None]) == '71.00 ± 1.41 (70.00, 72.00)'
    ev = dict(knn_pool=80., linear_pool=81.)  # a ResNet: one readout
    assert tb.first_readout(ev, 'knn_cls') == 80.
    assert tb.first_readout(ev, 'knn_mean') is None
    assert tb.value(ev, 'linear', 'mean') == 81.
    assert tb.value(dict(finetune=74.), 'finetune', 'cls') == 74.


def test_fill_block_keeps_what_is_around_it(tmp_path):
    doc = tmp_path / 'page.md'
    doc.write_text(f'head\n{tb.BEGIN}\nold\n{tb.END}\ntail\n')
    tb.fill_block(str(doc), 'new')
    assert doc.read_text() == f'head\n{tb.BEGIN}\nnew\n{tb.END}\ntail\n'
    doc.write_text('no markers')
    with pytest.raises(ValueError, match='markers'):
        tb.fill_block(str(doc), 'new')
