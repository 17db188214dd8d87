"""The transfer study's tables (study/transfer/report.py)."""
import json
import os.path as osp
import shutil

import pytest

from study.transfer import report as tr


def run(row, seed, task, **metrics):
    return dict(row=row, seed=seed, task=task, tag=f'{task}_{row}_s{seed}',
                metrics=metrics)


@pytest.mark.parametrize('a,b,cell', [
    ({0: 23.0, 1: 22.0}, {0: 25.0}, '-2.00'),        # seed 1 has no pair
    ({0: 23.0, 1: 22.0}, {0: 25.0, 1: 21.0}, '-0.50 [-2.00, +1.00]'),
    ({1: 23.0}, {0: 25.0}, ''),                      # nothing pairs
    ({}, {0: 25.0}, ''),
])
def test_gap_cell_pairs_seeds(a, b, cell):
    assert tr.gap_cell(a, b) == cell


def test_gap_table_rows_and_results_table():
    res = dict(pretrain=[], runs=[
        run('mae', 0, 'det', **{'coco/bbox_mAP': 25.8, 'coco/segm_mAP': 22.2}),
        run('random-init', 0, 'det',
            **{'coco/bbox_mAP': 25.0, 'coco/segm_mAP': 21.5}),
        run('mae', 1, 'det', **{'coco/bbox_mAP': 20.0, 'coco/segm_mAP': 20.0}),
        run('mae', 0, 'seg', mIoU=24.04),
        run('random-init', 0, 'seg', mIoU=21.68)])
    gaps = tr.gap_table(res)
    assert gaps[2] == '| MAE - random init | +0.80 | +0.70 | +2.36 |'
    assert len(gaps) == 5  # header, separator, the one pair with runs, note
    assert gaps[-1].startswith("A gap is the mean of the same-seed")
    rows = tr.results_table(res)
    assert rows[2].startswith('| MAE | vit | 22.90 ± ')
    assert rows[2].endswith(' | 0,1 |')


def test_page_regenerates_from_the_results(tmp_path):
    """docs/transfer_study.md's tables are what the report makes of
    docs/transfer_study.json (regenerate both together: run.py transfer
    --stage report)."""
    doc = tmp_path / 'transfer_study.md'
    shutil.copy(tr.DOC, doc)
    results = json.load(open(osp.join(osp.dirname(tr.DOC),
                                      'transfer_study.json')))
    tr.write_report(results, str(doc), str(tmp_path / 'figure.png'))
    assert doc.read_text() == open(tr.DOC).read(), \
        'docs/transfer_study.md differs from its regenerated report'
    assert osp.getsize(tmp_path / 'figure.png') > 0
