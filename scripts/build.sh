#!/usr/bin/env bash
# Configures and builds condense (Release, warnings on) into ./build; extra arguments go to CMake,
# e.g. -DCONDENSE_WERROR=ON. The whole log is kept in build/build.log.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p build
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release "$@" > build/build.log 2>&1 || { cat build/build.log; exit 1; }
cmake --build build -j "$(nproc)" >> build/build.log 2>&1 || { tail -n 60 build/build.log; exit 1; }
echo "condense: built build/condense (log: build/build.log)"

# The Python package (docs/python.md): the system Python imports it from build/python, through a
# .pth file in its site-packages (as an editable install does); remove that file to undo.
if compgen -G "build/python/condense/_core*.so" > /dev/null; then
  bash scripts/python_path.sh "$PWD/build/python"
fi
