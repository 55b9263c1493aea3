#!/usr/bin/env bash
# Installs every Debian package condense needs to build, test, benchmark and draw figures.
# Safe to run again; needs root (or sudo).
set -euo pipefail

packages=(
  # build
  build-essential cmake pkg-config clang-format
  # fuzzing and the sanitizer build (docs/testing.md): clang with libFuzzer and the sanitizer
  # runtimes, and clang's OpenMP
  clang libclang-rt-dev libomp-dev
  # libraries
  libeigen3-dev libcli11-dev libtomlplusplus-dev nlohmann-json3-dev libfmt-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libopenmpi-dev openmpi-bin
  zlib1g-dev
  # figures: gnuplot with its cairo terminals (PNG, PDF) and a font for them
  gnuplot-nox fonts-dejavu-core
  # the report's test in a real browser
  chromium chromium-driver
  # data: the offline default dataset
  dataset-fashion-mnist
  # PyTorch parity fixtures and side-by-side benchmarks (PyTorch on OpenBLAS, not the reference BLAS)
  python3 python3-numpy python3-torch libopenblas0-pthread
  # the Python package (docs/python.md): bindings, its tests, DataFrames, and a pip install into a
  # virtual environment
  pybind11-dev python3-pybind11 python3-dev python3-pytest python3-pandas python3-venv python3-pip
  python3-setuptools python3-wheel
)

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -gt 0 ]; then
  echo "condense setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -q
  "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  echo "condense setup: all packages present"
fi
