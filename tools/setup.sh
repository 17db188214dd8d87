#!/usr/bin/env bash
# One-command set-up for mmsymmim on a fresh machine (Python 3.11, Linux).
#
# Creates .venv in the repo root and installs the tested OpenMMLab stack into it.
# Every workaround for the upstream stack that concerns *installation* lives here,
# each with why and when to drop it; run-time workarounds live in mmsymmim/compat/.
#
# Timing on 2 cores: about 5 minutes the first time (mmcv's C++ ops are compiled,
# about 3 min), under 3 minutes afterwards (the built mmcv wheel is cached in
# $MMSYMMIM_CACHE, default ~/.cache/mmsymmim, keyed by mmcv/torch/python versions).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PY_BOOT="${PYTHON:-python3}"
CACHE="${MMSYMMIM_CACHE:-$HOME/.cache/mmsymmim}"

# Tested pins. Change them together and re-run the tests.
TORCH=2.15.0
TORCHVISION=0.29.2
MMCV=2.1.0          # not 2.2.0: mmdet 3.3.0 / mmseg 1.2.2 assert mmcv < 2.2.0 at import
MMENGINE=0.10.7
MMPRETRAIN=1.2.0
MMDET=3.3.0
MMSEG=1.2.2
TIMM=1.0.31
KORNIA=0.9.0        # DeviceViewAugment (the *_device-aug_* configs); pulls kornia-rs
RUFF=0.17.6         # the linter (tests/test_lint.py); .pre-commit-config.yaml's rev too

log() { echo "[setup $(date +%H:%M:%S)] $*"; }

if [ ! -x "$VENV/bin/python" ]; then
  log "creating $VENV"
  "$PY_BOOT" -m venv "$VENV"
fi
PY="$VENV/bin/python"
PIP=("$PY" -m pip install --disable-pip-version-check)

# 1. torch: the registry's default build (CUDA). It runs on CPU too. Pinning the exact
#    version keeps pip from picking a CPU-only local wheel that has no torchvision twin.
"${PIP[@]}" -q "torch==$TORCH" "torchvision==$TORCHVISION"
log "torch $("$PY" -c 'import torch; print(torch.__version__)')"

# 2. mmcv's setup.py imports pkg_resources (removed in setuptools 81); torch needs >= 77;
#    < 80 keeps `setup.py develop` (step 6: mim finds the package by its egg-link).
"${PIP[@]}" -q "setuptools>=77,<80" wheel ninja

# 3. mmcv with compiled ops. PyPI has only the sdist. Its setup.py asks for -std=c++17,
#    but torch >= 2.10 headers require C++20 ("#error C++20 or later compatible compiler
#    is required to use ATen"), so the flag is patched. Drop this step when mmcv ships
#    wheels for this torch or its setup.py uses C++20.
#    Two changes make the build about 6x faster on 2 cores (19.5 -> 3 min) and leave the
#    ops' results bit-identical (tools/misc/mmcv_ops_probe.py, 17 ops compared):
#    - no debug info: Python's own compile flags (sysconfig CFLAGS, which setuptools takes
#      whole from $CFLAGS when that is set) less -g, plus -g0; -O3 and -DNDEBUG stay.
#      Debug info made each file compile 2.4x slower (roi_align.cpp: 31 s -> 13 s) and the
#      wheel 30 MB larger.
#    - the 57 thin wrappers in csrc/pytorch/*.cpp (argument checks + device dispatch; 84 %
#      of each file's compile time is parsing torch's headers) are compiled as one
#      translation unit that #includes them, so those headers are parsed once instead of 57
#      times. The 20 CPU kernels (csrc/pytorch/cpu/*.cpp, which hold the device
#      registrations and clash with each other's helper names) stay one file each.
#      `import mmcv.ops` then checks that every function the Python side loads exists.
if ! "$PY" -c "import mmcv, mmcv.ops; assert mmcv.__version__ == '$MMCV'" 2>/dev/null; then
  PYTAG=$("$PY" -c 'import sys; print(f"cp{sys.version_info[0]}{sys.version_info[1]}")')
  WHEELS="$CACHE/mmcv-$MMCV-torch$TORCH-$PYTAG"
  if ! ls "$WHEELS"/mmcv-*.whl >/dev/null 2>&1; then
    log "building mmcv $MMCV ops from source (3-5 minutes on 2 cores)"
    BUILD=$(mktemp -d)
    "$PY" -m pip download -q --no-deps --no-binary :all: -d "$BUILD" "mmcv==$MMCV"
    tar -xzf "$BUILD"/mmcv-$MMCV.tar.gz -C "$BUILD"
    sed -i 's/-std=c++17/-std=c++20/g' "$BUILD/mmcv-$MMCV/setup.py"
    grep -q 'c++20' "$BUILD/mmcv-$MMCV/setup.py" || { echo "mmcv setup.py patch failed" >&2; exit 1; }
    CSRC="$BUILD/mmcv-$MMCV/mmcv/ops/csrc/pytorch"
    mkdir "$CSRC/wrappers"
    mv "$CSRC"/*.cpp "$CSRC/wrappers/"      # out of setup.py's glob of csrc/pytorch/*.cpp
    for f in "$CSRC"/wrappers/*.cpp; do echo "#include \"wrappers/$(basename "$f")\""; done \
      > "$CSRC/all_wrappers.cpp"
    [ "$(grep -c include "$CSRC/all_wrappers.cpp")" -ge 50 ] || { echo "mmcv wrapper list is short" >&2; exit 1; }
    OPS_CFLAGS="$("$PY" -c 'import sysconfig; print(" ".join(f for f in sysconfig.get_config_var("CFLAGS").split() if f != "-g"))') -g0"
    mkdir -p "$WHEELS.tmp"
    (cd "$BUILD/mmcv-$MMCV" && PATH="$VENV/bin:$PATH" CFLAGS="$OPS_CFLAGS" MMCV_WITH_OPS=1 FORCE_CUDA=0 MAX_JOBS="${MAX_JOBS:-$(nproc)}" \
       "$PY" -m pip wheel -q --no-build-isolation --no-deps -w "$WHEELS.tmp" .)
    rm -rf "$WHEELS" && mv "$WHEELS.tmp" "$WHEELS"   # atomic: a killed build leaves no half cache
    rm -rf "$BUILD"
  else
    log "using cached mmcv wheel in $WHEELS"
  fi
  "${PIP[@]}" -q --no-deps "$WHEELS"/mmcv-*.whl
fi

# 4. The rest of the stack. mmseg 1.2.2 imports ftfy and regex without declaring them.
#    pytest-xdist: README command 2 runs the suite on 2 workers (`-n 2`).
#    scikit-learn: t-SNE for the embedding map of tools/visualization/visualize_neighbours.py.
#    ruff: the linter the suite runs (tests/test_lint.py; settings in pyproject.toml).
"${PIP[@]}" -q "mmcv==$MMCV" "mmengine==$MMENGINE" "mmpretrain==$MMPRETRAIN" "mmdet==$MMDET" \
  "mmsegmentation==$MMSEG" "timm==$TIMM" "kornia==$KORNIA" ftfy regex pytest pytest-xdist \
  tensorboard click colorama model-index pandas requests rich tabulate scikit-learn \
  "ruff==$RUFF"
# openmim (`mim train mmsymmim ...`) without its dependency opendatalab: that pulls
# openxlab, which pins setuptools~=60.2 (torch needs >=77), requests, rich, tqdm and
# packaging back; `mim train` never imports them (`pip check` will name the gap).
"${PIP[@]}" -q --no-deps openmim

# 5. Real images for the demo and the tests (Fashion-MNIST, Debian package, 31 MB).
if [ ! -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  log "installing Debian's dataset-fashion-mnist"
  $SUDO apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q dataset-fashion-mnist >/dev/null
fi

# 6. mmsymmim itself, editable.
#    Legacy develop mode (egg-link): openmim 0.3.9 looks for mmsymmim/.mim/tools/train.py
#    under the distribution's location, which a PEP 660 editable install puts in
#    site-packages, where the package is not.
"${PIP[@]}" -q --no-deps --no-use-pep517 -e "$ROOT"
"$PY" -c "import mmcv.ops, mmdet, mmseg, mmpretrain, mmsymmim; print('mmsymmim', mmsymmim.__version__, 'ready')"
log "done"
