#!/usr/bin/env bash
# Train a codec recipe on a lent CUDA device in a fixed time, its data carried in the tree.
#
#   here:    benchmarks/codec_gpu.sh stage
#            copies the training data (../shared/data: photos and clips, 14 MB) and the PyAV
#            wheel the device lacks (36 MB) into .gpu/ (git-ignored; 64 MiB at most travel)
#   device:  run(command="benchmarks/codec_gpu.sh train 8.5 <codec train flags>",
#                carry=[".gpu"], timeout_s=600)
#            installs the wheel, trains for 8.5 minutes of wall time (steps fitted by
#            timing a few first) with `cvis codec train <flags> --device cuda --amp`, and
#            leaves the checkpoint, its log and the output under $OUT.
#
# The flags are those of `make weights` with DATA=.gpu/data, so a GPU run is the same recipe
# as the CPU one (only the step count differs: it is fitted to the time).
set -euo pipefail
cd "$(dirname "$0")/.."

case "${1:-}" in
stage)
  rm -rf .gpu && mkdir -p .gpu/data .gpu/whl
  cp -r ../shared/data/photos ../shared/data/*.mp4 .gpu/data/
  version=$(.venv/bin/python -c "import av; print(av.__version__)")
  python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
    --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
    -d .gpu/whl "av==$version"
  du -sh .gpu
  ;;
train)
  minutes=$2
  shift 2
  python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .gpu/whl/*.whl
  export PYTHONPATH="$PWD/src:/tmp/site" PYTHONUNBUFFERED=1
  out=${OUT:-runs/gpu}
  mkdir -p "$out"
  device=${DEVICE:-cuda}  # DEVICE=cpu rehearses the script here
  if [ "$device" = cuda ]; then
    nvidia-smi -L | tee "$out/device.txt"
    amp=--amp
  else
    amp=--no-amp
  fi
  python3 -c "import torch; print('torch', torch.__version__)"
  python3 -m compressed_vision.cli codec train "$@" --minutes "$minutes" --device "$device" \
    $amp --out "$out/codec.safetensors" 2>&1 | tee "$out/train.log"
  ;;
*)
  sed -n 2,16p "$0"
  exit 2
  ;;
esac
