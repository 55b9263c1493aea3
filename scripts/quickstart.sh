#!/usr/bin/env bash
# Installs what condense needs, builds it, and trains the quick-start experiment on
# Fashion-MNIST: a two-layer CNN from a small initialization whose kernels condense.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
./build/condense train configs/quickstart.toml --out runs/quickstart --overwrite "$@"
