#pragma once
// Timing full-batch training steps of a benchmark workload (train/workloads.hpp): the median and
// minimum time per step, the FLOP rate, the fraction of the machine's peak, the peak memory, and a
// hash of the parameters after the steps (equal hashes: bit-identical training).
#include <nlohmann/json.hpp>
#include <string>

#include "condense/train/workloads.hpp"

namespace condense {

struct BenchSettings {
  int steps = 20;   // timed steps per repeat
  int repeats = 5;  // the median is reported
  int warmup = 3;   // untimed steps first
  int threads = 2;  // as set_thread_count
};

// Runs the workload in its dtype and returns the measurements as one JSON object.
nlohmann::json run_benchmark(const Workload& workload, const BenchSettings& settings);

}  // namespace condense
