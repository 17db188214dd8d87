"""study/choice.py: the lr --stage tune picks, the ResNet rows' recipe."""


from study import knobs as kn
from study import small_scale as study
from study import stages as st


def test_tuning_picks_the_best_validation_linear_probe(tmp_path):
    args = study.parse_args(['--smoke', '--work-dir', str(tmp_path)])
    runs = [dict(row='mae', seed=0, knobs=k, evals=dict(val=v)) for k, v in (
        ({'lr': 0.5}, dict(linear_cls=70., linear_mean=71.)),
        ({}, dict(linear_cls=72., linear_mean=69.)),
        ({'lr': 2.0}, dict(linear_cls=60., linear_mean=72.)))]
    s = st.Study(dict(runs=runs), args, spawn=None)
    assert s.chosen('mae') == {}  # 72 (class token) first of equals
    runs[2]['evals']['val']['linear_mean'] = 73.
    assert s.chosen('mae') == {'lr': 2.0}
    assert s.chosen('mocov3') == {}  # not tuned: defaults
    s.results['resnet_recipe'] = dict(knobs=dict(lr=0.5, queue_len=1024))
    assert s.lr('mocov2', 2.0) == dict(lr=1.0, queue_len=1024)
    assert kn.clean(s.lr('mocov2', 2.0)) == dict(queue_len=1024)
