#!/usr/bin/env bash
# The test suite built with AddressSanitizer and UndefinedBehaviorSanitizer (clang) in build-fuzz,
# the build that also holds the fuzz targets (scripts/fuzz.sh), and run by CTest. A sanitizer
# report stops the program that made it, so the test fails (docs/testing.md).
#
#   bash scripts/sanitize.sh              the suite, less the tests listed below
#   bash scripts/sanitize.sh -R Resume    any further ctest arguments
#
# Under the sanitizers (and the fuzzers' coverage counters in the same build) numerical code runs
# about 15 times slower, so the tests that train long runs to check results rather than code
# paths are left out; the paths they take are taken by shorter tests here. Left out, and why:
#   - Condensation.*, CondensationFc.*: the science checks, trainings of thousands of steps;
#   - rederive_*: long runs whose recorded numbers are re-derived in Python (numpy);
#   - Sweep.{ADeadRank,AKilledWorker,MpiRanks,EditingTheFile}*, Experiments.RerunSkips*,
#     Report.{LargeLayers,CompareOverlays}*, Spectrum.MatchesIndependentNumpySvd: many or large
#     runs, or numpy's side of a comparison;
#   - OldRunDirectory.ExtendingItContinuesFromItsCheckpoint: bit equality with a checkpoint that
#     the GCC build with -march=native wrote; this build is clang without it, and rounds otherwise;
#   - the Python package's tests: the module would need the sanitizer runtime preloaded into the
#     Python interpreter; it is not built here;
#   - RunSafety.TheMemoryEstimateBoundsWhatARunTakes and
#     RunSafety.AnIdxHeaderClaimingBillionsOfLabelsTakesNoMemory: they measure the peak memory of a
#     run, which the sanitizers' shadow memory and quarantine inflate several times over;
#   - the report in a real browser (report_in_browser_*, report_browser_runs): Chromium's time,
#     and no condense code runs in it.
set -euo pipefail
build=${CONDENSE_FUZZ_BUILD:-build-fuzz}  # the build folder
cd "$(dirname "$0")/.."

launcher=()
if command -v ccache > /dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
CC=clang CXX=clang++ cmake -S . -B "$build" -DCONDENSE_FUZZ=ON -DCONDENSE_BENCH=OFF \
  -DCONDENSE_PYTHON=OFF -DCONDENSE_NATIVE=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  "${launcher[@]}" > /dev/null
cmake --build "$build" -j"${JOBS:-$(nproc)}" > "$build/build.log" 2>&1 ||
  { tail -n 60 "$build/build.log"; exit 1; }

# Leaks are findings too. A report names the test through CTest's output.
export ASAN_OPTIONS=detect_leaks=1:strict_string_checks=1:check_initialization_order=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
excluded='^Condensation\.|^CondensationFc\.|^rederive_|^Sweep\.(ADeadRank|AKilledWorker|MpiRanks|EditingTheFile)'
excluded+='|^Experiments\.RerunSkips|^Report\.(LargeLayers|CompareOverlays)|^Spectrum\.MatchesIndependentNumpySvd'
excluded+='|^OldRunDirectory\.ExtendingItContinuesFromItsCheckpoint'
excluded+='|TheMemoryEstimateBoundsWhatARunTakes|AnIdxHeaderClaimingBillionsOfLabelsTakesNoMemory'
excluded+='|report_in_browser|report_browser_runs'
ctest --test-dir "$build" --output-on-failure -j 2 --timeout 1800 -E "$excluded" "$@"
echo "condense: the test suite passes under AddressSanitizer and UndefinedBehaviorSanitizer"
