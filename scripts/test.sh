#!/usr/bin/env bash
# Installs what condense needs, builds it with warnings as errors, runs the whole test suite,
# checks that the portable build (no -march=native, no MPI) builds and trains and that the Python
# package installs, then runs the test suite under the sanitizers and every fuzz target.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh -DCONDENSE_WERROR=ON
ctest --test-dir build --output-on-failure -j 2 --timeout 900

# The portable build: for any x86-64 CPU, and without MPI (docs/architecture.md).
mkdir -p build-portable
cmake -S . -B build-portable -DCMAKE_BUILD_TYPE=Release -DCONDENSE_NATIVE=OFF \
  -DCMAKE_DISABLE_FIND_PACKAGE_MPI=ON -DCONDENSE_TESTS=OFF -DCONDENSE_BENCH=OFF \
  -DCONDENSE_WERROR=ON -DCONDENSE_PYTHON=ON > build-portable/build.log 2>&1 || { cat build-portable/build.log; exit 1; }
cmake --build build-portable -j "$(nproc)" --target condense condense_python >> build-portable/build.log 2>&1 ||
  { tail -n 60 build-portable/build.log; exit 1; }
./build-portable/condense train configs/quickstart.toml --quiet --no-report --overwrite \
  --out build-portable/smoke --set train.steps=20 --set data.train_size=100
grep -q '"status": "completed"' build-portable/smoke/summary.json
echo "condense: the portable build (CONDENSE_NATIVE=OFF, no MPI) builds and trains"

# The Python package: the system Python imports the build's (scripts/build.sh), and pip installs
# it into a virtual environment offline, where its tests pass (docs/python.md). pip builds in the
# portable build's folder, which already holds the libraries.
(cd /tmp && /usr/bin/python3 -c "import condense, sys; print('condense: the system Python imports', condense.__file__)")
rm -rf build-venv && mkdir -p build-venv
/usr/bin/python3 -m venv --system-site-packages build-venv/env
CONDENSE_BUILD_DIR=build-portable CONDENSE_NATIVE=OFF \
  build-venv/env/bin/pip install --no-build-isolation --no-index . > build-venv/pip.log 2>&1 ||
  { tail -n 60 build-venv/pip.log; exit 1; }
(cd /tmp && "$OLDPWD/build-venv/env/bin/python" -c \
  "import condense; assert '/build-venv/env/' in condense.__file__, condense.__file__")
# Bit-equal numbers need the same build flags: the venv's module is compared with the portable CLI.
(cd /tmp && CONDENSE_BINARY="$OLDPWD/build-portable/condense" "$OLDPWD/build-venv/env/bin/python" -m pytest -q \
  -p no:cacheprovider "$OLDPWD/python/tests/test_measures.py")
echo "condense: pip installs the Python package into a virtual environment, and its tests pass there"

# Hostile input (docs/testing.md): the test suite under AddressSanitizer and
# UndefinedBehaviorSanitizer, then every fuzz target's committed corpus and 20 s of fuzzing each.
bash scripts/sanitize.sh
bash scripts/fuzz.sh 20
