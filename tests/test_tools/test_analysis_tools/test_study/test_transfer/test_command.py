"""study/transfer/command.py (run.py transfer): its options, and a smoke
run end to end -- pretraining, every scene config trained 2 iterations
from the checkpoint just written (or from random init) and tested on
8 scenes, resumed without redoing anything, and reported."""
import os.path as osp

import pytest

from study.transfer import command
from study.transfer import report as tr


def test_bad_options(tmp_path, capsys):
    with pytest.raises(SystemExit):
        command.parse_args(['--iters', '0'])
    assert '--iters must be >= 1' in capsys.readouterr().err


@pytest.mark.slow
def test_smoke_run_resumes_and_reports(tmp_path):
    """Two pretrainings (1 step each), the four scene configs trained 2
    steps and tested on 8 scenes (the ViT ones also from SymMIM's momentum
    encoder, whose load the configs' PretrainedCheckHook checks under its
    prefix); a second start runs nothing; the report fills the page's
    block."""
    rows = ['symmim-asymmetric', 'mixmask-mocov2', 'random-init',
            'random-init-resnet', 'symmim-asymmetric-ema']
    argv = ['--smoke', '--cache', str(tmp_path), '--seeds', '0',
            '--rows', *rows]
    res = command.main(argv)
    assert len(res['pretrain']) == 2 and len(res['runs']) == 10
    for run in res['runs']:
        keys = (('coco/bbox_mAP', 'coco/segm_mAP') if run['task'] == 'det'
                else ('mIoU', ))
        assert all(k in run['metrics'] for k in keys), run
        assert (run.get('checkpoint') is None) == run['row'].startswith(
            'random'), run
    again = command.main(argv)
    assert again['runs'] == res['runs']
    doc = tmp_path / 'page.md'
    doc.write_text('head\n<!-- study:begin -->\n<!-- study:end -->\ntail\n')
    tr.write_report(res, str(doc), str(tmp_path / 'fig.png'))
    text = doc.read_text()
    assert '| SymMIM default | vit |' in text
    assert 'MixMask - random init (ResNet)' in text
    assert '| SymMIM momentum - online encoder |' in text
    ema = [r for r in res['runs'] if r['row'] == 'symmim-asymmetric-ema']
    assert {r['prefix'] for r in ema} == {'momentum_encoder.module.backbone.'}
    assert {r['checkpoint'] for r in ema} == {
        r['checkpoint'] for r in res['runs']
        if r['row'] == 'symmim-asymmetric'}
    assert osp.isfile(tmp_path / 'fig.png')
