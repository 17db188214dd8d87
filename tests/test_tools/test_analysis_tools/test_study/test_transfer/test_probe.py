"""study/transfer/probe.py (run.py probe): its options. (The probe itself
trains a scene config for minutes; the diagnosis it ran is in
docs/transfer_study.md.)"""
import pytest

from study.transfer import probe


def test_options_are_checked(tmp_path, capsys):
    with pytest.raises(SystemExit):
        probe.parse_args(['cfg.py', '--scenes', str(tmp_path), '--iters',
                          '0'])
    assert '--iters must be >= 1' in capsys.readouterr().err
    with pytest.raises(SystemExit):
        probe.parse_args(['cfg.py', '--scenes', str(tmp_path)])
    assert 'no annotations/instances_val.json' in capsys.readouterr().err
    (tmp_path / 'annotations').mkdir()
    (tmp_path / 'annotations/instances_val.json').write_text('{}')
    args = probe.parse_args(['cfg.py', '--scenes', str(tmp_path)])
    assert (args.iters, args.val_scenes, args.seed, args.threads) == (
        200, 200, 0, 1)
