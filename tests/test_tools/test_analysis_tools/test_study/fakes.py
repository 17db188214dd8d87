"""Results made up for the curves' tests: 1x runs as the first study
left them."""
from study import knobs as kn


def fake_results():
    """1x results as the first study left them (no 'budget' field)."""
    def run(row, knobs, seed, evals, iters=400):
        return dict(row=row, seed=seed, knobs=knobs, iters=iters,
                    train_flops=iters * 3e10, evals=evals)
    val = dict(linear_cls=70., linear_mean=69., knn_cls=60., knn_mean=61.)
    runs = [run('symmim-asymmetric', {'lr': m} if m != 1 else {}, 0,
                dict(val=dict(val, linear_cls=70. + (m == 0.5))))
            for m in kn.LR_GRID]
    runs += [run('mae', {}, 0, dict(val=dict(val, linear_mean=80.))),
             run('mocov2', dict(bn_splits=8), 0,
                 dict(val=dict(knn_pool=1., linear_pool=1.)), iters=353)]
    return dict(runs=runs, budget_flops=12e12,
                resnet_recipe=dict(knobs=dict(bn_splits=8)))
