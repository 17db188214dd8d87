#!/usr/bin/env bash
# Download, here, the wheels that tools/gpu_check.sh installs on the bare GPU machine.
#
# That machine (the device tool's nvidia-h200: Python 3.12, x86-64, no network) already has
# torch, torchvision, numpy, opencv-python-headless, pyyaml, rich, matplotlib, einops,
# markdown, click, packaging and pillow (/work/.library/device/KINDS.md); it lacks the
# OpenMMLab stack. The list below is what the steps of gpu_check.py import beyond that
# (tests/test_tools/test_analysis_tools/test_gpu_check.py checks it against their imports):
#
#   mmcv-lite     mmcv's Python side without compiled ops. PyPI has no mmcv wheel (sdist
#                 only) and the GPU check builds none: every step uses mmcv.transforms,
#                 mmcv.cnn and mmcv.image, none uses mmcv.ops. mmpretrain's ViT, MAE,
#                 MoCo v3, SimMIM and ResNet, mmsymmim's SymMIM / MixMask and the
#                 pretraining configs import no mmcv.ops; mmdet and mmseg (the transfer
#                 configs, not part of the check) do, and are not carried.
#   setuptools    for its pkg_resources, which mmengine's get_config ('mmpretrain::'
#                 configs) imports, and its distutils shim (mmengine's collect_env, run by
#                 every Runner; Python 3.12 has no distutils); gpu_check.sh installs it only
#                 where the machine's setuptools lacks either.
#
# Usage: bash tools/gpu_wheels.sh [DEST]  (default gpu_wheels/, ignored by git)
#        PY_VERSION=3.11 bash tools/gpu_wheels.sh /tmp/w   (the same list for another Python)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="${1:-$ROOT/gpu_wheels}"
PY_VERSION="${PY_VERSION:-3.12}"
PY="${PYTHON:-python3}"

# wheels: begin (name==version; the pins of tools/setup.sh, the rest as its .venv has them)
WHEELS=(
  mmengine==0.10.7
  mmcv-lite==2.1.0
  mmpretrain==1.2.0
  kornia==0.9.0
  kornia-rs==0.2.0
  addict==2.4.0
  termcolor==3.3.0
  yapf==0.43.0
  platformdirs==4.14.9
  mat4py==0.6.0
  modelindex==0.0.2
  model-index==0.1.11
  ordered-set==4.1.0
  importlib-metadata==10.2.0
  zipp==4.1.2
  lazy-importer==0.1.0
  setuptools==79.0.1
)
# wheels: end

mkdir -p "$DEST"
"$PY" -m pip download -q --no-deps --only-binary=:all: --python-version "$PY_VERSION" \
  --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
  --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 --platform manylinux1_x86_64 \
  --platform any -d "$DEST" "${WHEELS[@]}"
count=$(ls "$DEST"/*.whl | wc -l)
[ "$count" -eq "${#WHEELS[@]}" ] || { echo "expected ${#WHEELS[@]} wheels in $DEST, found $count" >&2; exit 1; }
echo "$count wheels, $(du -cb "$DEST"/*.whl | tail -1 | cut -f1) bytes in $DEST"
