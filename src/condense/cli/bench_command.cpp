// condense bench --workload W [--steps N] [--repeats R] [--warmup K] [--dtype D] [--threads T]
#include "condense/cli/bench_command.hpp"

#include <iostream>
#include <memory>
#include <string>

#include "condense/core/parallel.hpp"
#include "condense/train/benchmark.hpp"

namespace condense {

void add_bench_command(CLI::App& app) {
  struct Options {
    std::string workload, dtype;  // dtype empty: the workload's own
    BenchSettings settings;
  };
  auto options = std::make_shared<Options>();
  CLI::App* bench = app.add_subcommand(
      "bench", "Time full-batch training steps of a benchmark workload; prints one JSON line");
  bench->add_option("--workload", options->workload, "W1, W2, W3 or W4 (train/workloads.hpp)")
      ->required();
  // Ranges rather than CLI11's PositiveNumber, whose message prints the largest double in full.
  bench->add_option("--steps", options->settings.steps, "Timed steps per repeat, 1 to 1000000")
      ->check(CLI::Range(1, 1'000'000));
  bench
      ->add_option("--repeats", options->settings.repeats,
                   "Repeats, 1 to 1000; the median is reported")
      ->check(CLI::Range(1, 1000));
  bench
      ->add_option("--warmup", options->settings.warmup,
                   "Untimed steps before the first repeat, 0 to 1000000")
      ->check(CLI::Range(0, 1'000'000));
  bench->add_option("--dtype", options->dtype, "float32 or float64 (default: the workload's)");
  bench->add_option("--threads", options->settings.threads, "OpenMP threads, 1 to 1024")
      ->check(CLI::Range(1, 1024));
  bench->callback([options] {
    Workload workload = workload_by_name(options->workload);
    if (!options->dtype.empty()) workload.dtype = parse_dtype(options->dtype);
    set_thread_count(options->settings.threads);
    std::cout << run_benchmark(workload, options->settings).dump() << std::endl;
  });
}

}  // namespace condense
