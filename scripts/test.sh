#!/usr/bin/env bash
# Installs what condense needs, builds it with warnings as errors, runs the whole test suite, and
# checks that the portable build (no -march=native, no MPI) builds and trains.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh -DCONDENSE_WERROR=ON
ctest --test-dir build --output-on-failure -j 2 --timeout 900

# The portable build: for any x86-64 CPU, and without MPI (docs/architecture.md).
mkdir -p build-portable
cmake -S . -B build-portable -DCMAKE_BUILD_TYPE=Release -DCONDENSE_NATIVE=OFF \
  -DCMAKE_DISABLE_FIND_PACKAGE_MPI=ON -DCONDENSE_TESTS=OFF -DCONDENSE_BENCH=OFF \
  -DCONDENSE_WERROR=ON > build-portable/build.log 2>&1 || { cat build-portable/build.log; exit 1; }
cmake --build build-portable -j "$(nproc)" --target condense >> build-portable/build.log 2>&1 ||
  { tail -n 60 build-portable/build.log; exit 1; }
./build-portable/condense train configs/quickstart.toml --quiet --no-report --overwrite \
  --out build-portable/smoke --set train.steps=20 --set data.train_size=100
grep -q '"status": "completed"' build-portable/smoke/summary.json
echo "condense: the portable build (CONDENSE_NATIVE=OFF, no MPI) builds and trains"
