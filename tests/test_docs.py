"""Docs that cannot rot: every Markdown file of the repo, checked against it.

For each ``*.md`` at the top level and under ``docs/``:

* every repo path it names exists: a token that starts with ``configs/``,
  ``tools/``, ``mmsymmim/``, ``docs/``, ``tests/`` or ``.ci/`` (in prose, code
  spans or fenced blocks; ``{a,b}`` expanded, ``*`` globbed), a top-level file
  (``README.md``, ``CHANGELOG.md``, ``LICENSE``, ``setup.py``) and a bare
  config name (``symmim_*.py``, ``mixmask-*.py``: some file of that name under
  ``configs/``). Not repo paths, hence not checked: ``work_dirs/...``,
  ``data/...``, ``.venv/...``, ``/path/to/...``, placeholders (``CONFIG``,
  ``CKPT``, a token running into ``$`` or ``<``), outputs (after ``--out`` or
  ``>``) and ``mmsymmim/.mim`` (made at install);
* a fenced block that runs ``git show REV:PATH`` recreates a former file: it is
  history, its paths are not checked, but each ``REV:PATH`` must exist in git;
  CHANGELOG.md is history too: a path there must exist now or in git history;
* each config a fenced command names parses (``Config.fromfile``) and each
  ``--cfg-options`` key of that command lands in it (the parent exists; the
  leaf exists or is an argument slot of a ``type=`` dict). Building the model
  of every config is ``tests/test_configs.py``'s job;
* each relative link and image resolves, and each ``#anchor`` is a heading (or
  an ``id``/``name``) of the target file, slugged as GitHub does.

The checker (tests/doc_check.py, tests/doc_links.py) is tested on a mutated
page below, so it can fail.
"""
import os.path as osp

import pytest

from .doc_check import (
    MD_FILES,
    MD_IDS,
    REPO,
    commands,
    config_problems,
    full_history,
    parse,
    path_problems,
    report,
)
from .doc_links import link_problems


# ------------------------------------------------------------ the tests
def test_markdown_files_found():
    assert {'README.md', 'CHANGELOG.md', 'docs/symmim.md'} <= set(MD_IDS)


@pytest.mark.parametrize('path', MD_FILES, ids=MD_IDS)
def test_repo_paths_exist(path):
    problems = path_problems(open(path).read(), osp.relpath(path, REPO))
    assert not problems, report(problems)


@pytest.mark.parametrize('path', MD_FILES, ids=MD_IDS)
def test_links_and_anchors_resolve(path):
    problems = link_problems(open(path).read(), path)
    assert not problems, report(problems)


@pytest.mark.parametrize('path', MD_FILES, ids=MD_IDS)
def test_configs_in_commands_parse(path):
    problems = config_problems(open(path).read(), osp.relpath(path, REPO))
    assert not problems, report(problems)


def test_readme_commands_are_cis():
    """README's first block is the two commands, the second of which is what
    .ci/run runs."""
    _, blocks = parse(open(osp.join(REPO, 'README.md')).read())
    cmds = [' '.join(argv) for _, argv in commands(blocks[0][2])]
    assert len(cmds) == 2, cmds
    assert cmds[0].startswith('bash tools/setup.sh && .venv/bin/python '
                              'tools/train.py configs/')
    ci = open(osp.join(REPO, '.ci', 'run')).read().splitlines()
    assert cmds[1] == '.venv/bin/python -m pytest tests -q -n 2'
    assert cmds[1] in ci


# ----------------------------------------- the checker, on a broken page
PAGE = """# A page

## Train it

```bash
.venv/bin/python tools/train.py \\
    configs/symmim/symmim_vit-tiny-p4_1xb128-400i_fmnist.py \\
    --cfg-options env_cfg.dist_cfg.backend=gloo
```

See `mmsymmim/models/selfsup/` and [the method](symmim.md#the-method), or
[above](#train-it); `work_dirs/demo/iter_400.pth`, `data/imagenet/`,
`/path/to/images`, `.venv/bin/mim` and `configs/symmim/$c.py` are not repo
paths.

```bash
git show 23b9a10:configs/symmim/symmim_vit-tiny-p4_1xb128-200i_fmnist.py \\
    > configs/symmim/x.py
```
"""


def test_checker_passes_the_good_page():
    doc = osp.join(REPO, 'docs', 'page.md')
    assert path_problems(PAGE) == []
    assert link_problems(PAGE, doc) == []
    assert config_problems(PAGE) == []


@pytest.mark.parametrize('good,bad,check', [
    ('mmsymmim/models/selfsup/', 'mmsymmim/models/selfsupp/', 'paths'),
    ('400i_fmnist.py \\', '200i_fmnist.py \\', 'configs'),
    ('dist_cfg.backend=gloo', 'dist_cfgs.backend=gloo', 'configs'),
    ('symmim.md#the-method', 'symmim.md#the-methods', 'links'),
    ('(symmim.md#', '(symmin.md#', 'links'),
    ('(#train-it)', '(#train)', 'links'),
])
def test_checker_fails_a_broken_page(good, bad, check):
    doc = osp.join(REPO, 'docs', 'page.md')
    assert good in PAGE
    page = PAGE.replace(good, bad, 1)
    run = dict(paths=lambda: path_problems(page),
               links=lambda: link_problems(page, doc),
               configs=lambda: config_problems(page))[check]
    assert run(), f'{check}: {bad!r} passed'


def test_history_blocks_need_the_file_in_that_commit():
    if not full_history():
        pytest.skip('needs a git checkout with its history')
    page = PAGE.replace('200i_fmnist.py \\', '100i_fmnist.py \\')
    assert any('git show' in p for p in path_problems(page))
