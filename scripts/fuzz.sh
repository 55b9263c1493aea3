#!/usr/bin/env bash
# Builds the libFuzzer targets of fuzz/ (clang, ASan, UBSan) in build-fuzz and runs them, one after
# the other: first every committed input of fuzz/corpus/<target> once (regressions: each crash
# found and fixed is kept there), then fuzzing for SECONDS per target from a working copy of that
# corpus in build-fuzz/corpus/<target>. Crashing inputs go to build-fuzz/findings/<target>/, the
# fuzzer's output to build-fuzz/logs/<target>.log. Exits 1 if any target failed.
#
#   bash scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]     (default: 30 s, every target)
#   bash scripts/fuzz.sh 60 idx cifar
#   CONDENSE_FUZZ_BUILD=DIR bash scripts/fuzz.sh     another build folder than build-fuzz
set -euo pipefail
build=${CONDENSE_FUZZ_BUILD:-build-fuzz}  # the build folder

cd "$(dirname "$0")/.."
seconds=30
if [[ $# -gt 0 && $1 =~ ^[0-9]+$ ]]; then
  seconds=$1
  shift
fi
if [[ $# -gt 0 ]]; then
  targets=("$@")
else
  targets=()
  for source in fuzz/fuzz_*.cpp; do
    name=${source#fuzz/fuzz_}
    targets+=("${name%.cpp}")
  done
fi
for name in "${targets[@]}"; do
  if [[ ! -f fuzz/fuzz_$name.cpp ]]; then
    echo "fuzz.sh: no target $name (fuzz/fuzz_$name.cpp); the targets are:" \
      "$(cd fuzz && ls fuzz_*.cpp | sed 's/^fuzz_//; s/\.cpp$//' | tr '\n' ' ')" >&2
    exit 2
  fi
done

launcher=()
if command -v ccache > /dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
# The same build as scripts/sanitize.sh's (which builds the tests in it too): only the targets
# are built here.
CC=clang CXX=clang++ cmake -S . -B "$build" -DCONDENSE_FUZZ=ON -DCONDENSE_BENCH=OFF \
  -DCONDENSE_PYTHON=OFF -DCONDENSE_NATIVE=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  "${launcher[@]}" > /dev/null
cmake --build "$build" -j"${JOBS:-$(nproc)}" --target "${targets[@]/#/fuzz_}"

# The dictionary of a target: tokens of its format, which the fuzzer splices into inputs.
dictionary() {
  case $1 in
    config | series) echo fuzz/dict/toml.dict ;;
    prediction | summary) echo fuzz/dict/json.dict ;;
    metrics | analysis | snapshot_index) echo fuzz/dict/csv.dict ;;
    idx | cosines) echo fuzz/dict/files.dict ;;
    *) echo "" ;;
  esac
}

# The value of libFuzzer's final statistic $2 (-print_final_stats=1) in log $1.
final_stat() {
  sed -n "s/^stat::$2: *\([0-9]*\).*/\1/p" "$1" | tail -n 1
}

mkdir -p "$build/logs"
failed=()
summaries=()
for name in "${targets[@]}"; do
  binary="$build/fuzz/fuzz_$name"
  seeds=fuzz/corpus/$name
  corpus="$build/corpus/$name"
  findings="$build/findings/$name"
  log="$build/logs/$name.log"
  mkdir -p "$corpus" "$findings"
  options=(-rss_limit_mb=2048 -timeout=10 -artifact_prefix="$findings/")

  inputs=()
  if [[ -d $seeds ]]; then
    for file in "$seeds"/*; do [[ -f $file ]] && inputs+=("$file"); done
  fi
  if [[ ${#inputs[@]} -gt 0 ]]; then
    echo "== $name: ${#inputs[@]} committed inputs"
    if ! "$binary" "${options[@]}" "${inputs[@]}" > "$log" 2>&1; then
      echo "$name: a committed input of $seeds fails; see $log" >&2
      tail -n 30 "$log" >&2
      failed+=("$name")
      summaries+=("$name: FAILED on a committed input of $seeds ($log)")
      continue
    fi
    cp -n "${inputs[@]}" "$corpus"/
  fi

  dict=$(dictionary "$name")
  if [[ -n $dict ]]; then options+=(-dict="$dict"); fi
  echo "== $name: fuzzing for $seconds s"
  status=0
  "$binary" "${options[@]}" -max_total_time="$seconds" -print_final_stats=1 "$corpus" \
    > "$log" 2>&1 || status=$?
  executions=$(final_stat "$log" number_of_executed_units)
  per_second=$(final_stat "$log" average_exec_per_sec)
  memory=$(final_stat "$log" peak_rss_mb)
  coverage=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)
  features=$(grep -o 'ft: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)
  summary="$name: ${executions:-?} execs, cov: ${coverage:-?}, ft: ${features:-?}, ${per_second:-?} exec/s, ${memory:-?} MB"
  if [[ $status -ne 0 ]]; then
    failed+=("$name")
    summary+=" -- FINDING (exit $status): $(ls -t "$findings" | head -n 1), log $log"
    grep -m 1 -E 'ERROR: |runtime error|==ERROR|deadly signal|uncaught|terminate' "$log" >&2 || true
  fi
  summaries+=("$summary")
  echo "$summary"
done

echo
echo "== summary ($seconds s per target)"
printf '%s\n' "${summaries[@]}"
if [[ ${#failed[@]} -gt 0 ]]; then
  echo "findings in: ${failed[*]} (inputs in $build/findings/<target>/)" >&2
  exit 1
fi
