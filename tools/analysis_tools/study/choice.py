"""Reading the study's results: the run a record holds, its budget and
cost, and the knobs each row chose (its recipe, the lr that won --stage
tune)."""
from .knobs import LR_GRID, clean
from .rows import ROWS, TUNED_AS


def recipe(results: dict, row: str) -> dict:
    """The knobs a row starts from: ResNet rows the recipe --stage
    resnet-recipe found (none before), other rows their defaults ({})."""
    spec = ROWS[row]
    if spec.family == 'resnet' and spec.train:
        return dict(results.get('resnet_recipe', {}).get('knobs', {}))
    return {}


def lr_knobs(results: dict, row: str, mult: float) -> dict:
    """The row's recipe with its lr multiplied by ``mult``."""
    base = recipe(results, row)
    return dict(base, lr=base.get('lr', 1.) * mult)


def budget_of(run: dict) -> float:
    """A run's budget as a multiple of the protocol's (runs of the first,
    1x study have no ``budget`` field)."""
    return run.get('budget', 1)


def wall_hours(runs: list) -> float:
    """Training plus evaluation wall hours of ``runs``, as measured (each
    under the load of its time)."""
    return sum(r.get('train_s', 0) + r.get('eval_s', 0) for r in runs) / 3600


def find_run(results: dict, row: str, seed: int, knobs: dict, budget=1):
    """The run of ``row`` at ``seed``, ``knobs`` (clean) and ``budget``
    that ``results`` holds, or None."""
    return next((r for r in results['runs'] if (
        r['row'], r['seed'], r['knobs'], budget_of(r)) == (
            row, seed, knobs, budget)), None)


def tune_runs(results: dict, row: str) -> list:
    """The row's --stage tune runs held in ``results``: seed 0, evaluated
    on validation, at lr x0.5 / 1 / 2 of its recipe, in that order; none
    for untrained rows and for ResNet rows before the recipe is found."""
    spec = ROWS[row]
    if not spec.train or (spec.family == 'resnet'
                          and 'resnet_recipe' not in results):
        return []
    found = []
    for m in LR_GRID:
        knobs = clean(lr_knobs(results, row, m))
        found += [r for r in results['runs']
                  if (r['row'], r['seed'], r['knobs']) == (row, 0, knobs)
                  and budget_of(r) == 1 and 'val' in r['evals']][:1]
    return found


def chosen_knobs(results: dict, row: str) -> dict:
    """The row's recipe (ResNet rows) with the lr that won --stage tune on
    the validation split; the recipe alone when not tuned; a row in
    TUNED_AS takes the choice of the row it follows."""
    row = TUNED_AS.get(row, row)
    tried = tune_runs(results, row)
    if not tried:
        return recipe(results, row)
    return max(tried, key=lambda r: tune_score(r['evals']['val'])
               )['knobs']  # first of equals: the smallest lr


def tune_score(val: dict) -> float:
    """What --stage tune maximises, from a run's validation metrics: the
    linear probe of the row's better readout (class token or mean of the
    patch tokens)."""
    return max(v for k, v in val.items() if k.startswith('linear'))
