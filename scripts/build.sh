#!/usr/bin/env bash
# Configures and builds condense (Release, warnings on) into ./build; extra arguments go to CMake,
# e.g. -DCONDENSE_WERROR=ON. The whole log is kept in build/build.log.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p build
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release "$@" > build/build.log 2>&1 || { cat build/build.log; exit 1; }
cmake --build build -j "$(nproc)" >> build/build.log 2>&1 || { tail -n 60 build/build.log; exit 1; }
echo "condense: built build/condense (log: build/build.log)"
