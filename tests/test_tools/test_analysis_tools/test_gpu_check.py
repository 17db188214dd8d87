"""The prepared GPU check (tools/gpu_check.sh): its step budgets, its wheel
list against what the steps import (no network), and a whole tiny run on
the CPU (``--device cpu --tiny``), so it meets no first bug on the GPU."""
import ast
import glob
import importlib.metadata as md
import importlib.util
import json
import os
import os.path as osp
import re
import subprocess
import sys
import time

import pytest
from packaging.requirements import Requirement

from ...harness import REPO, run

TOOLS = osp.join(REPO, 'tools', 'analysis_tools')
# The nvidia-h200 image's Python packages, as /work/.library/device/KINDS.md
# lists them ("Python packages already there", read 2026-11-17).
ON_MACHINE = set(re.split(r'[,\s]+', """
    absl-py, accelerate, aiofiles, aiohappyeyeballs, aiohttp, aiosignal,
    annotated-doc, anyio, attrs, botorch, build, certifi, charset-normalizer,
    chex, click, cloudpickle, cmake, colorama, contourpy, coverage,
    cuda-bindings, cuda-core, cuda-pathfinder, cuda-toolkit, cupy-cuda13x,
    cycler, cython, diffrax, e3nn, einops, equinox, etils, execnet, filelock,
    flatbuffers, flax, fonttools, formulaic, frozenlist, fsspec, gpytorch,
    grpcio, h11, h5py, hf-xet, httpcore, httpx, huggingface-hub, humanize,
    hypothesis, idna, imageio, iniconfig, interface-meta, jax,
    jax-cuda13-pjrt, jax-cuda13-plugin, jaxlib, jaxtyping, jinja2, joblib,
    kiwisolver, lazy-loader, lightning, lightning-utilities, linear-operator,
    lineax, llvmlite, lxml, markdown, markdown-it-py, markupsafe, matplotlib,
    mdurl, meson, ml-dtypes, mpi4py, mpmath, msgpack, multidict,
    multipledispatch, mypy-extensions, nanobind, narwhals, networkx, ninja,
    numba, numba-cuda, numpy, numpyro, nvidia-cublas, nvidia-cuda-cupti,
    nvidia-cuda-nvrtc, nvidia-cuda-runtime, nvidia-cudnn-cu13, nvidia-cufft,
    nvidia-cufile, nvidia-curand, nvidia-cusolver, nvidia-cusparse,
    nvidia-cusparselt-cu13, nvidia-ml-py, nvidia-nccl-cu13, nvidia-nvjitlink,
    nvidia-nvshmem-cu13, nvidia-nvtx, onnx, onnx-ir, onnxruntime, onnxscript,
    opencv-python-headless, optax, opt-einsum, opt-einsum-fx, optimistix,
    orbax-checkpoint, packaging, pandas, pathspec, patsy, peft, pillow, pip,
    pluggy, portalocker, prometheus-client, propcache, protobuf, psutil,
    pyarrow, pybind11, py-cpuinfo, pygments, pyparsing, pyproject-hooks,
    pyre-extensions, pytest, pytest-benchmark, pytest-cov, pytest-mock,
    pytest-timeout, pytest-xdist, python-dateutil, pytorch-lightning, pyyaml,
    regex, requests, rich, sacrebleu, safetensors, scikit-build-core,
    scikit-image, scikit-learn, scipy, seaborn, sentencepiece,
    sentence-transformers, setuptools, shellingham, simplejson, six,
    sortedcontainers, statsmodels, sympy, tabulate, tensorboard,
    tensorboard-data-server, tensorstore, threadpoolctl, tifffile, tiktoken,
    timm, tokenizers, toolz, torch, torchaudio, torchdiffeq, torch-geometric,
    torchmetrics, torchvision, tqdm, transformers, treescope, triton, typer,
    typing-extensions, typing-inspect, urllib3, uvloop, wadler-lindig,
    werkzeug, wheel, wrapt, xarray, xxhash, yarl, zipp
""".strip()))
# what stands in here for a carried or present package of another name
ALIAS = {'mmcv': 'mmcv-lite', 'opencv-python': 'opencv-python-headless'}
OURS = {'mmsymmim', 'tests', 'benchmark_throughput', 'benchmark_pipeline',
        'gpu_check', 'gpu_check_steps', 'gpu_check_configs'}
# the modules the steps run: the check, the benchmarks it calls and the
# sweep's helpers (every import, functions too), and mmsymmim without its
# opt-in mmdet / mmseg part (what importing its modules imports)
TOOL_FILES = glob.glob(osp.join(TOOLS, 'gpu_check*.py')) + [
    osp.join(TOOLS, 'benchmark_throughput.py'),
    osp.join(TOOLS, 'benchmark_pipeline.py'),
    osp.join(REPO, 'tests', 'config_sweep.py'),
    osp.join(REPO, 'tests', 'sweep_data.py'),
    osp.join(REPO, 'tests', 'sweep_checks.py')]
PACKAGE_FILES = [p for p in glob.glob(osp.join(REPO, 'mmsymmim', '**', '*.py'),
                                      recursive=True)
                 if '/downstream/' not in p]


def norm(name):
    name = re.sub(r'[-_.]+', '-', name).lower()
    return ALIAS.get(name, name)


def wheel_list():
    text = open(osp.join(REPO, 'tools', 'gpu_wheels.sh')).read()
    block = text.split('# wheels: begin')[1].split('# wheels: end')[0]
    return dict(re.findall(r'^\s+([\w.-]+)==(\S+)$', block, re.M))


def load(name):
    spec = importlib.util.spec_from_file_location(
        name, osp.join(TOOLS, name + '.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def uncovered(modules):
    """Top-level module names whose distribution is neither carried nor on
    the machine (the standard library and this repo's modules pass)."""
    owners = md.packages_distributions()
    allowed = {norm(n) for n in wheel_list()} | ON_MACHINE
    missing = set()
    for m in modules:
        if m in sys.stdlib_module_names or m in OURS or m.startswith('__'):
            continue
        dists = {norm(d) for d in owners.get(m, [])} - {'mmsymmim'}
        if not dists and (m.startswith('_') or m in ('tools', )):
            continue  # an extension's private module, a namespace
        if not dists & allowed:
            missing.add(f'{m} ({", ".join(sorted(dists)) or "no dist"})')
    return missing


def imported(node, into_functions):
    """Top-level names a module's code imports: at import time (module and
    class bodies), or anywhere with ``into_functions``."""
    found = set()
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.Import):
            found |= {a.name.split('.')[0] for a in child.names}
        elif isinstance(child, ast.ImportFrom) and child.level == 0:
            found.add(child.module.split('.')[0])
        elif into_functions or not isinstance(
                child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            found |= imported(child, into_functions)
    return found


def test_wheel_list_covers_the_steps_imports():
    """Every top-level import of the steps' modules, and every requirement of
    a carried wheel (for Python 3.12 on Linux), is carried or on the machine;
    the pins are the versions this .venv runs."""
    wheels = wheel_list()
    assert {'mmengine', 'mmcv-lite', 'mmpretrain', 'kornia'} <= set(wheels)
    assert not {'torch', 'torchvision', 'mmcv', 'mmdet', 'mmsegmentation'} \
        & set(wheels)
    imports = set()
    for path in TOOL_FILES + PACKAGE_FILES:
        imports |= imported(ast.parse(open(path).read()),
                            into_functions=path in TOOL_FILES)
    assert {'mmengine', 'mmcv', 'mmpretrain', 'kornia'} <= imports
    assert not {'mmdet', 'mmseg'} & imports
    assert not uncovered(imports), uncovered(imports)
    env = dict(python_version='3.12', python_full_version='3.12.3',
               sys_platform='linux', platform_system='Linux',
               platform_machine='x86_64', os_name='posix', extra='',
               implementation_name='cpython')
    allowed = set(map(norm, wheels)) | ON_MACHINE
    for name, version in wheels.items():
        here = 'mmcv' if name == 'mmcv-lite' else name
        assert md.version(here) == version or name == 'mmcv-lite', name
        for req in map(Requirement, md.requires(here) or []):
            if req.marker is None or req.marker.evaluate(env):
                assert norm(req.name) in allowed, (name, str(req))


def fake_step(code):
    """A step command: ``code`` with PART (its results file) defined."""
    return lambda key, part: [sys.executable, '-c',
                              f'import json, time, sys; PART = {part!r}; '
                              + code]


ROW = ("print('working', flush=True); "
       "json.dump(dict(rows=[dict(n=1)], notes={'x': 1}), open(PART, 'w')); ")
META = dict(device_name='test', driver=None, torch='-', cuda=None, cudnn=None,
            python='-', packages={}, tiny=True, total_s=0, started='-',
            command='-')


def test_an_overrunning_step_is_cut_and_the_rest_still_run(tmp_path):
    gc = load('gpu_check')
    codes = dict(x=ROW, y=ROW + 'time.sleep(60)', z=ROW + 'sys.exit(3)',
                 w=ROW)
    steps = [(k, f'step {k}', 1.5) for k in 'xyzw']
    t0 = time.monotonic()
    report = gc.run_check(steps, lambda k, p: fake_step(codes[k])(k, p),
                          str(tmp_path / 'out'), str(tmp_path), 6.5, META,
                          min_step=1)
    wall = time.monotonic() - t0
    status = {k: s['status'] for k, s in report['steps'].items()}
    assert status['x'] == 'ok' and status['w'] == 'ok'
    assert status['y'].startswith('cut at') and status['z'] == \
        'failed (exit 3)'
    # the cut step got its budget plus what x left, no more: the rest ran
    assert 1.5 <= report['steps']['y']['seconds'] < 4 and wall < 7.5
    assert report['steps']['y']['rows'] == [dict(n=1)]  # kept what it wrote
    md_text = (tmp_path / 'out' / 'gpu_check.md').read_text()
    assert '**cut at' in md_text and '**failed (exit 3)**' in md_text
    assert md_text.count('| n |') == 4 and 'Log tail' in md_text
    saved = json.loads((tmp_path / 'out' / 'gpu_check.json').read_text())
    assert {k: s['status'] for k, s in saved['steps'].items()} == status
    assert (tmp_path / 'out' / 'gpu_check.log').read_text().count(
        '===== step') == 4


def test_a_step_without_time_left_is_skipped(tmp_path):
    gc = load('gpu_check')
    steps = [('x', 'first', 2), ('y', 'second', 2)]
    report = gc.run_check(steps, fake_step(ROW), str(tmp_path / 'out'),
                          str(tmp_path), 2.5, META, min_step=1)
    # x would eat into y's budget: it is skipped, y keeps its own
    assert report['steps']['x']['status'] == 'skipped: no time left'
    assert report['steps']['y']['status'] == 'ok'


def machine_like_python(folder):
    """A Python that sees only what the GPU machine has (``ON_MACHINE``) and
    the carried wheels, each taken from this .venv (symbolic links); mmcv
    without its compiled ops (``mmcv/_ext*.so``), as mmcv-lite is. The same
    interpreter (3.11, not the machine's 3.12)."""
    import venv
    site, env = folder / 'site', folder / 'venv'
    site.mkdir()
    allowed = ON_MACHINE | {norm(n) for n in wheel_list()}
    for dist in md.distributions():
        if norm(dist.metadata['Name']) not in allowed:
            continue
        for top in {str(f).split('/')[0] for f in dist.files or []}:
            src = dist.locate_file(top)
            if top in ('..', '__pycache__') or top.endswith('.pth') or \
                    not osp.exists(src) or (site / top).exists():
                continue
            if top != 'mmcv':
                (site / top).symlink_to(src)
                continue
            (site / top).mkdir()
            for child in os.listdir(src):
                if not child.startswith('_ext'):
                    (site / top / child).symlink_to(osp.join(src, child))
    venv.EnvBuilder(with_pip=False).create(str(env))
    purelib = glob.glob(str(env / 'lib' / 'python3*' / 'site-packages'))[0]
    with open(osp.join(purelib, 'machine.pth'), 'w') as f:
        f.write(str(site) + '\n')
    return str(env / 'bin' / 'python')


@pytest.mark.slow
def test_tiny_cpu_run_of_the_whole_check(tmp_path):
    """``bash tools/gpu_check.sh --device cpu --tiny`` under a Python that
    has only the machine's packages and the carried ones: every step
    finishes with its rows and the report has a table per step."""
    python = machine_like_python(tmp_path)
    probe = subprocess.run(
        [python, '-c', 'import mmengine, mmpretrain, kornia, mmcv\n'
         'try:\n    import mmcv.ops\nexcept ImportError:\n    print("lite")'],
        capture_output=True, text=True)
    assert probe.stdout.strip() == 'lite', probe.stderr[-2000:]
    assert subprocess.run([python, '-c', 'import mmdet'],
                          capture_output=True).returncode != 0
    out = tmp_path / 'out'
    t0 = time.monotonic()
    # budgets x4: a shared 2-core CPU, not the GPU's 8-minute plan
    proc = run(
        ['bash', osp.join(REPO, 'tools', 'gpu_check.sh'), '--device', 'cpu',
         '--tiny', '--out', str(out), '--budget-scale', '4'],
        env=dict(os.environ, PYTHON=python), timeout=1800)
    wall = time.monotonic() - t0
    report = json.loads((out / 'gpu_check.json').read_text())
    steps = report['steps']
    assert proc.returncode == 0, (proc.stdout[-3000:], proc.stderr[-3000:])
    assert [k for k in steps] == list('abcd')
    assert all(s['status'] == 'ok' for s in steps.values())
    assert [r['model'] for r in steps['a']['rows']] == [
        'symmim_vit-b', 'symmim_vit-b-sym', 'symmim_vit-b-mask-token',
        'mocov3_vit-b', 'mae_vit-b']
    assert all(r['img_s'] > 0 and r['gflop_img'] > 0
               for r in steps['a']['rows'])
    assert len(steps['b']['rows']) >= 5
    assert all(r['finite'] for r in steps['b']['rows']), steps['b']['rows']
    assert len(steps['c']['rows']) == 7
    assert [r['compile'] for r in steps['d']['rows']] == ['eager',
                                                          'aot_eager']
    text = (out / 'gpu_check.md').read_text()
    assert text.count('\n## ') == 4 and 'img_s_x_mocov3' in text
    assert report['meta']['packages']['mmcv'] == wheel_list()['mmcv-lite']
    print(f'tiny CPU run: {wall:.0f} s wall')
