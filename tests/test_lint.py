"""The linter: ``ruff check`` (settings in pyproject.toml: pycodestyle,
pyflakes and isort in OpenMMLab's style, 79 columns) finds nothing in the
package, tools, configs, tests and setup.py.

Run it while editing (``--fix`` sorts imports and drops unused ones)::

    .venv/bin/python -m ruff check mmsymmim tools configs tests setup.py
"""
import importlib.util
import os.path as osp
import re
import subprocess
import sys

import pytest

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
PATHS = ['mmsymmim', 'tools', 'configs', 'tests', 'setup.py']

# what the settings must catch: a third-party import after a first-party
# one, an unused import and an 80-column line
BAD = '''import os

from mmsymmim.arg_checks import check_int
import torch

''' + 'X = check_int, torch, ' + repr('-' * 56) + '\n'


def ruff(*args, stdin=None):
    if importlib.util.find_spec('ruff') is None:
        pytest.fail('ruff is not installed: bash tools/setup.sh installs it')
    return subprocess.run([sys.executable, '-m', 'ruff', *args], cwd=REPO,
                          input=stdin, capture_output=True, text=True,
                          timeout=300)


def check(*args, stdin=None):
    return ruff('check', '--no-cache', '--output-format', 'concise', *args,
                stdin=stdin)


def test_ruff_finds_nothing():
    proc = check(*PATHS)
    assert proc.returncode == 0, (
        'ruff check found problems (fix them; `--fix` does the import ones):'
        f'\n{proc.stdout}{proc.stderr}')


def test_ruff_uses_the_project_settings():
    """pyproject.toml is read: the linter can fail."""
    assert len(BAD.splitlines()[-1]) == 80
    proc = check('--stdin-filename', 'mmsymmim/lint_probe.py', '-', stdin=BAD)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    codes = {line.split()[1] for line in proc.stdout.splitlines()
             if line.startswith('mmsymmim/lint_probe.py:')}
    assert codes == {'E501', 'I001', 'F401'}, proc.stdout


def test_one_ruff_version():
    """The version tools/setup.sh pins is the one installed and the one
    .pre-commit-config.yaml runs."""
    setup = open(osp.join(REPO, 'tools/setup.sh')).read()
    pin = re.search(r'^RUFF=(\S+)', setup, re.M).group(1)
    hooks = open(osp.join(REPO, '.pre-commit-config.yaml')).read()
    rev = re.search(r'ruff-pre-commit\s+rev: v(\S+)', hooks)
    assert rev and rev.group(1) == pin, hooks
    installed = ruff('--version').stdout
    assert installed.split() == ['ruff', pin], installed
