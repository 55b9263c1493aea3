#pragma once
// `condense bench`: times training steps of a benchmark workload (train/workloads.hpp) and prints
// one JSON line with the median and minimum time per step, the FLOP rate, the fraction of the
// machine's peak and the peak memory.
#include <CLI/CLI.hpp>

namespace condense {

void add_bench_command(CLI::App& app);

}  // namespace condense
