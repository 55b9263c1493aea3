#include "condense/train/benchmark.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <vector>

#include "condense/core/machine.hpp"
#include "condense/nn/init.hpp"
#include "condense/nn/model.hpp"
#include "condense/train/optimizer.hpp"
#include "condense/train/step.hpp"

namespace condense {

namespace {

// FNV-1a over the parameter bytes: equal hashes mean bit-identical training (thread-count checks).
template <class T>
std::uint64_t parameter_hash(const Vector<T>& values) {
  std::uint64_t hash = 0xcbf29ce484222325ULL;
  const auto* bytes = reinterpret_cast<const unsigned char*>(values.data());
  for (std::size_t i = 0; i < std::size_t(values.size()) * sizeof(T); ++i) {
    hash ^= bytes[i];
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  return n % 2 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

template <class T>
nlohmann::json run_typed(const Workload& workload, const BenchSettings& options) {
  Model<T> model(workload.model);
  initialize(model.parameters(), workload.init, workload.seed);
  Optimizer<T> optimizer(workload.optimizer, model.parameters().size());
  const WorkloadData<T> data = make_workload_data<T>(workload);
  Batch<T> batch;
  batch.inputs = data.inputs.data();
  batch.targets.values = data.targets.empty() ? nullptr : data.targets.data();
  batch.targets.labels = data.labels.empty() ? nullptr : data.labels.data();
  batch.size = workload.samples;

  StepResult result;
  auto step = [&] {
    result = train_step(model, optimizer, workload.loss, batch);
    batch.same_as_previous = true;
  };
  for (int i = 0; i < options.warmup; ++i) step();
  std::vector<double> ms_per_step;
  for (int r = 0; r < options.repeats; ++r) {
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < options.steps; ++i) step();
    const std::chrono::duration<double, std::milli> elapsed =
        std::chrono::steady_clock::now() - start;
    ms_per_step.push_back(elapsed.count() / options.steps);
  }

  const double flops = training_step_flops(workload.model, workload.samples);
  const double ms = median(ms_per_step);
  const double gflops = flops / (ms * 1e6);
  const double mhz = cpu_mhz();
  const int flop_per_cycle = sizeof(T) == 4 ? 32 : 16;
  const double peak = options.threads * flop_per_cycle * mhz * 1e-3;  // GFLOP/s
  nlohmann::json out;
  out["workload"] = workload.name;
  out["dtype"] = dtype_name(sizeof(T) == 4 ? Dtype::float32 : Dtype::float64);
  out["threads"] = options.threads;
  out["samples"] = workload.samples;
  out["warmup_steps"] = options.warmup;
  out["steps"] = options.steps;
  out["repeats"] = options.repeats;
  out["ms_per_step"] = ms;
  out["min_ms_per_step"] = *std::min_element(ms_per_step.begin(), ms_per_step.end());
  out["gflop_per_step"] = flops * 1e-9;
  out["gflops"] = gflops;
  out["peak_gflops"] = peak;
  out["percent_of_peak"] = peak > 0 ? 100.0 * gflops / peak : 0.0;
  out["peak_assumption"] = fmt::format(
      "{} threads x {} FLOP/cycle ({}: 2 FMA units x {} lanes of 256-bit AVX2 x 2) x {:.0f} MHz "
      "(/proc/cpuinfo cpu MHz, taken as the nominal clock; boost not counted)",
      options.threads, flop_per_cycle, sizeof(T) == 4 ? "float32" : "float64",
      sizeof(T) == 4 ? 8 : 4, mhz);
  const double measured = measured_peak_gflops<T>(options.threads);
  out["measured_peak_gflops"] = measured;
  out["percent_of_measured_peak"] = 100.0 * gflops / measured;
  out["flop_count"] =
      "forward + weight-gradient + input-gradient (not first layer) GEMMs of "
      "conv/linear layers, 2 FLOP per multiply-add";
  out["peak_rss_mib"] = peak_rss_mib();
  out["final_loss"] = result.loss;
  out["parameter_hash"] = fmt::format("{:016x}", parameter_hash(model.parameters().values()));
  return out;
}

}  // namespace

nlohmann::json run_benchmark(const Workload& workload, const BenchSettings& settings) {
  return workload.dtype == Dtype::float32 ? run_typed<float>(workload, settings)
                                          : run_typed<double>(workload, settings);
}

}  // namespace condense
