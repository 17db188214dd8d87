"""Tests of the study package (tools/analysis_tools/study/), a file per
module. The package is imported by its name, ``study``: its parent folder
goes on ``sys.path`` here, before any test module imports it."""
import os.path as osp
import sys

from ....harness import REPO

TOOLS = osp.join(REPO, 'tools/analysis_tools')
if TOOLS not in sys.path:
    sys.path.insert(0, TOOLS)
