"""The study's mask-ratio axis (study/ratio.py, the ``mask_ratio`` knob
of study/rows.py): the knob reaches the mask, fewer visible tokens cost fewer
FLOPs a step, the plan lists the new runs, and the report's page
regenerates byte-identical from the committed results."""
import json
import os.path as osp
import shutil
import sys
from argparse import Namespace

import pytest

from ....harness import REPO

sys.path.insert(0, osp.join(REPO, 'tools/analysis_tools'))
from study import ratio as sra
from study import rows as sr

RESULTS = osp.join(REPO, 'docs/small_scale_study_flops.json')


def test_knob_reaches_the_mask():
    mae = sr.row_config('mae', dict(mask_ratio=0.9))
    assert mae.model.backbone.mask_ratio == 0.9
    rnd = sr.row_config('symmim-random-asym', dict(mask_ratio=0.25))
    gens = [t for t in rnd.train_dataloader.dataset.pipeline
            if t['type'] == 'SimMIMMaskGenerator']
    assert [g['mask_ratio'] for g in gens] == [0.25]
    with pytest.raises(KeyError, match='has no knob'):
        sr.row_config('symmim-asymmetric', dict(mask_ratio=0.5))  # board
    with pytest.raises(ValueError, match=r'mask_ratio must be a float in '
                       r'\(0, 1\)'):
        sr.row_config('mae', dict(mask_ratio=1.5))


def test_own_ratio_is_no_knob():
    """The row's own ratio is the run the study already holds."""
    assert sr.ratio_knobs('mae', 0.75) == {}
    assert sr.ratio_knobs('symmim-random-asym', 0.5) == {}
    assert sr.ratio_knobs('mae', 0.9) == dict(mask_ratio=0.9)
    with pytest.raises(KeyError, match='has no mask ratio'):
        sr.ratio_knobs('symmim-asymmetric', 0.5)


@pytest.mark.parametrize('row,ratios', [('mae', (0.5, 0.75, 0.9)),
                                        ('symmim-random-asym',
                                         (0.25, 0.5, 0.75))])
@pytest.mark.slow
def test_fewer_visible_tokens_fewer_flops(fmnist_root, row, ratios):
    from study import flops as sf
    from study import stages as st
    flops = [sf.step_flops(st.train_config(row, sr.ratio_knobs(row, r), 0,
                                           True)) for r in ratios]
    assert flops[0] > flops[1] > flops[2], flops


def test_plan_lists_the_new_runs():
    results = json.load(open(RESULTS))
    req = sra.required()
    assert len(req) == 30 and req[0][2] == req[9][2] == 0  # seed-major
    new = [p for p in req if p[3] != sr.OWN_RATIO[p[1]]]
    assert len(new) == 24
    study = Namespace(args=Namespace(budgets=[1.], seeds=[0, 1, 2]),
                      rows=list(sr.ROWS), results=results)
    wants = sra.wants(study)
    assert len(wants) == 30
    assert ('mae', 0, {'mask_ratio': 0.9}, ['test'], 1) in wants
    assert ('symmim-random-asym', 2, {'lr': 0.5, 'mask_ratio': 0.25},
            ['test'], 1) in wants  # SymMIM default's tuned lr


def test_report_regenerates_the_page(tmp_path):
    """docs/mask_ratio.md's block is what the report writes from the
    committed JSON (byte-identical)."""
    from study import report as rep
    results = json.load(open(RESULTS))
    if not any('mask_ratio' in r['knobs'] for r in results['runs']):
        pytest.skip('no mask-ratio run in the results yet')
    docs = {}
    for name in ('small_scale_study.md', 'budget_curves.md',
                 'mask_ratio.md'):
        docs[name] = tmp_path / name
        shutil.copy(osp.join(REPO, 'docs', name), docs[name])
    rows = [r for r in sr.ROWS]
    rep.write_report(results, rows, str(docs['small_scale_study.md']),
                     str(tmp_path / 'a.png'), str(tmp_path / 'b.png'),
                     str(docs['budget_curves.md']),
                     str(docs['mask_ratio.md']), str(tmp_path / 'c.png'))
    for name, path in docs.items():
        assert path.read_text() == open(osp.join(REPO, 'docs', name)).read(), \
            f'docs/{name} differs from its regenerated report'
    assert osp.isfile(tmp_path / 'c.png')
