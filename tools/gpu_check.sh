#!/usr/bin/env bash
# The prepared GPU check (issue 41): one command, about 8 minutes at most.
#
#   bash tools/gpu_check.sh                                   # on the GPU machine
#   PYTHON=.venv/bin/python bash tools/gpu_check.sh --device cpu --tiny   # rehearsal here
#
# On a bare GPU machine (the device tool's nvidia-h200: Python 3.12 with torch, no OpenMMLab
# package, no network) it first installs the wheels carried in gpu_wheels/ (made here by
# tools/gpu_wheels.sh) into /tmp/gpu_check_site, then runs tools/analysis_tools/gpu_check.py
# (its docstring lists the steps). Where the stack is already importable (.venv) nothing
# is installed. The working tree's mmsymmim is put on PYTHONPATH.
#
# Which parts need which packages (none builds or imports mmcv's compiled ops):
#   all steps            torch, mmengine, mmcv-lite (mmcv.transforms / cnn / image),
#                        mmpretrain, mmsymmim (this tree)
#   a, d (throughput, compile)
#                        + mmpretrain's MoCo v3 / MAE package configs ('mmpretrain::'),
#                        which mmengine finds through pkg_resources (setuptools < 81)
#   b (and every Runner) + distutils (mmengine's collect_env): setuptools' shim on 3.12
#   b (every pretraining config)
#                        + opencv (JPEG writing), kornia + kornia-rs (the *_device-aug_*
#                        configs' DeviceViewAugment)
#   c (device aug, loader)
#                        + kornia + kornia-rs, opencv, PIL
#   not run here         mmdet / mmseg transfer configs: they need mmcv.ops (full mmcv, CUDA
#                        build); PyPI has no mmcv wheel, so they stay off the GPU check.
#
# Results: $OUT/gpu_check.md, gpu_check.json, gpu_check.log when $OUT is set (the device
# tool), else work_dirs/gpu_check/. Exit status 0 when every step finished.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="${PYTHON:-python3}"
WHEELS="${GPU_WHEELS:-$ROOT/gpu_wheels}"
SITE="${GPU_SITE:-/tmp/gpu_check_site}"
log() { echo "[gpu_check $(date +%H:%M:%S)] $*"; }

if ! "$PY" -c 'import mmengine, mmcv, mmpretrain, kornia' 2>/dev/null; then
  ls "$WHEELS"/*.whl >/dev/null 2>&1 || {
    echo "no wheels in $WHEELS: run 'bash tools/gpu_wheels.sh' where pip can reach PyPI and carry gpu_wheels" >&2
    exit 2; }
  wheels=()
  for w in "$WHEELS"/*.whl; do
    case "$(basename "$w")" in   # the machine's own setuptools where it has both
      setuptools-*) "$PY" -c 'import pkg_resources, _distutils_hack' 2>/dev/null && continue ;;
    esac
    wheels+=("$w")
  done
  log "installing ${#wheels[@]} wheels into $SITE"
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target "$SITE" "${wheels[@]}" || exit 3
  export PYTHONPATH="$SITE${PYTHONPATH:+:$PYTHONPATH}"
  # mmengine's collect_env (every Runner) imports distutils, which Python 3.12 dropped;
  # setuptools' shim provides it, but a --target install runs no .pth: start it here
  if ! "$PY" -c 'import distutils' 2>/dev/null; then
    echo 'import _distutils_hack; _distutils_hack.add_shim()' > "$SITE/sitecustomize.py"
    "$PY" -c 'import distutils.errors' || exit 3
  fi
fi
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONUNBUFFERED=1
"$PY" -c 'import torch, mmcv, mmengine, mmpretrain, kornia, mmsymmim
print("torch", torch.__version__, "cuda", torch.version.cuda, "gpu", torch.cuda.is_available(),
      "| mmcv", mmcv.__version__, "mmengine", mmengine.__version__, "mmpretrain", mmpretrain.__version__,
      "kornia", kornia.__version__)' 2>&1 | grep -v Warning || exit 4
exec "$PY" tools/analysis_tools/gpu_check.py "$@"
