#include "condense/cli/bench_command.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <Eigen/Core>
#include <nlohmann/json.hpp>
#include <omp.h>

#include "condense/core/error.hpp"
#include "condense/core/parallel.hpp"
#include "condense/nn/init.hpp"
#include "condense/nn/model.hpp"
#include "condense/train/step.hpp"
#include "condense/train/workloads.hpp"

namespace condense {

namespace {

struct BenchOptions {
  std::string workload;
  std::string dtype;  // empty: the workload's own
  int steps = 20;
  int repeats = 5;
  int warmup = 3;
  int threads = 2;
};

// The clock /proc/cpuinfo reports for the first CPU ("cpu MHz"), in MHz; 0 when absent. On a
// virtual machine this is the host's nominal clock; boost clocks are not counted.
double cpu_mhz() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("cpu MHz", 0) != 0) continue;
    const auto colon = line.find(':');
    if (colon != std::string::npos) return std::atof(line.c_str() + colon + 1);
  }
  return 0.0;
}

// The multiply-add throughput this machine gives now, in GFLOP/s over `threads` threads running at
// once: ten independent chains of vector multiply-adds per thread (enough to cover the latency of
// two FMA units), the best of three runs of about 25 ms. Unlike the nominal peak it counts boost
// clocks and whatever the threads share on a virtual machine.
template <class T>
double measured_peak_gflops(int threads) {
  using Packet = typename Eigen::internal::packet_traits<T>::type;
  constexpr int kLanes = Eigen::internal::packet_traits<T>::size;
  constexpr int kChains = 10;
  constexpr long kIterations = 8'000'000;
  double best = 0.0;
  for (int attempt = 0; attempt < 3; ++attempt) {
    const auto start = std::chrono::steady_clock::now();
#pragma omp parallel num_threads(threads)
    {
      const Packet factor = Eigen::internal::pset1<Packet>(T(0.999999));
      const Packet step = Eigen::internal::pset1<Packet>(T(1e-7));
      // Ten named chains: in an array, the compiler kept them in memory between iterations.
      using Eigen::internal::pmadd;
      using Eigen::internal::pset1;
      Packet c0 = pset1<Packet>(T(1)), c1 = pset1<Packet>(T(2)), c2 = pset1<Packet>(T(3)),
             c3 = pset1<Packet>(T(4)), c4 = pset1<Packet>(T(5)), c5 = pset1<Packet>(T(6)),
             c6 = pset1<Packet>(T(7)), c7 = pset1<Packet>(T(8)), c8 = pset1<Packet>(T(9)),
             c9 = pset1<Packet>(T(10));
      for (long i = 0; i < kIterations; ++i) {
        c0 = pmadd(c0, factor, step);
        c1 = pmadd(c1, factor, step);
        c2 = pmadd(c2, factor, step);
        c3 = pmadd(c3, factor, step);
        c4 = pmadd(c4, factor, step);
        c5 = pmadd(c5, factor, step);
        c6 = pmadd(c6, factor, step);
        c7 = pmadd(c7, factor, step);
        c8 = pmadd(c8, factor, step);
        c9 = pmadd(c9, factor, step);
#if defined(__GNUC__) && defined(__x86_64__)
        // Keeps every multiply-add in the loop.
        __asm__ volatile("" : "+x"(c0), "+x"(c1), "+x"(c2), "+x"(c3), "+x"(c4), "+x"(c5),
                         "+x"(c6), "+x"(c7), "+x"(c8), "+x"(c9));
#endif
      }
      const Packet chains[kChains] = {c0, c1, c2, c3, c4, c5, c6, c7, c8, c9};
      T sink = 0;
      for (int c = 0; c < kChains; ++c) sink += Eigen::internal::predux(chains[c]);
      if (sink == T(-1)) std::cerr << "";  // the result is used
    }
    const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
    const double flop = 2.0 * kLanes * kChains * double(kIterations) * threads;
    best = std::max(best, flop / elapsed.count() * 1e-9);
  }
  return best;
}

double peak_rss_mib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return double(usage.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
}

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
nlohmann::json run_bench(const Workload& workload, const BenchOptions& options) {
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
  out["flop_count"] = "forward + weight-gradient + input-gradient (not first layer) GEMMs of "
                      "conv/linear layers, 2 FLOP per multiply-add";
  out["peak_rss_mib"] = peak_rss_mib();
  out["final_loss"] = result.loss;
  out["parameter_hash"] = fmt::format("{:016x}", parameter_hash(model.parameters().values()));
  return out;
}

}  // namespace

void add_bench_command(CLI::App& app) {
  auto options = std::make_shared<BenchOptions>();
  CLI::App* bench = app.add_subcommand(
      "bench", "Time full-batch training steps of a benchmark workload; prints one JSON line");
  bench->add_option("--workload", options->workload, "W1, W2, W3 or W4 (train/workloads.hpp)")
      ->required();
  // Ranges rather than CLI11's PositiveNumber, whose message prints the largest double in full.
  bench->add_option("--steps", options->steps, "Timed steps per repeat, 1 to 1000000")
      ->check(CLI::Range(1, 1'000'000));
  bench->add_option("--repeats", options->repeats, "Repeats, 1 to 1000; the median is reported")
      ->check(CLI::Range(1, 1000));
  bench->add_option("--warmup", options->warmup,
                    "Untimed steps before the first repeat, 0 to 1000000")
      ->check(CLI::Range(0, 1'000'000));
  bench->add_option("--dtype", options->dtype, "float32 or float64 (default: the workload's)");
  bench->add_option("--threads", options->threads, "OpenMP threads, 1 to 1024")
      ->check(CLI::Range(1, 1024));
  bench->callback([options] {
    Workload workload = workload_by_name(options->workload);
    if (!options->dtype.empty()) workload.dtype = parse_dtype(options->dtype);
    set_thread_count(options->threads);
    const nlohmann::json result = workload.dtype == Dtype::float32
                                      ? run_bench<float>(workload, *options)
                                      : run_bench<double>(workload, *options);
    std::cout << result.dump() << std::endl;
  });
}

}  // namespace condense
