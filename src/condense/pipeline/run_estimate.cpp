#include "condense/pipeline/run_estimate.hpp"

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <numeric>

#include <fmt/format.h>

#include "condense/core/error.hpp"
#include "condense/nn/model.hpp"
#include "condense/train/trainer.hpp"

namespace condense {

namespace {

// The layers whose units the analysis compares: every weight tensor, (M, rest...).
struct WeightShape {
  std::uint64_t units = 0, size = 0;  // M, and the values of one unit's weight (plus its bias)
};

template <class T>
RunEstimate estimate_typed(const RunConfig& config, const ModelSpec& spec, const Data& data) {
  RunEstimate e;
  const int N = data.train.size;
  const int batch = config.train.batch_size <= 0 ? N : std::min(config.train.batch_size, N);
  // Validates the model and sizes it, allocating nothing of its size.
  e.model = Model<T>::training_bytes(spec, batch);
  const OptimizerSpec& o = config.train.optimizer;
  const int moments = o.kind == OptimizerKind::adam ? 2
                      : o.kind == OptimizerKind::sgd && o.momentum > 0 ? 1
                                                                        : 0;
  auto split_bytes = [](const DataSplit& s) {
    return (s.inputs.size() + s.targets.size()) * (sizeof(double) + sizeof(T)) +
           (s.labels.size() + s.original_labels.size()) * sizeof(int);
  };
  e.data = split_bytes(data.train) + split_bytes(data.test);

  // Tracking at a snapshot step (CondensationRecorder, analysis/measures.cpp): the weights in
  // double and the step-0 weights kept for RD; the snapshot's and the checkpoint's file bytes; per
  // layer the cosine matrix in double (every layer's is kept until written) with its float32 copy
  // and file bytes; and for the largest layer the transient copies of measure_layer (θ, θ0, the
  // kernel matrix for the effective rank and its QR) and the SVD's work matrices.
  std::map<std::string, WeightShape> layers;
  for (const ParameterInfo& info : Model<T>::parameter_info(spec)) {
    WeightShape& layer = layers[info.layer];
    layer.units = std::uint64_t(info.shape.at(0));
    layer.size += info.size / std::uint64_t(info.shape.at(0));
    e.parameters += info.size;
  }
  const std::uint64_t parameter_bytes = e.parameters * sizeof(T);
  e.optimizer = moments * parameter_bytes;
  std::uint64_t cosine_values = 0, largest_layer = 0;
  for (const auto& [name, layer] : layers) {
    cosine_values += layer.units * layer.units;
    const std::uint64_t smaller = std::min(layer.units, layer.size);
    largest_layer = std::max(largest_layer, (4 * layer.units * layer.size + 4 * smaller * smaller) * 8);
  }
  e.tracking = 2 * e.parameters * 8 + (2 + moments) * parameter_bytes + cosine_values * (8 + 4 + 4) +
               largest_layer;

  e.total_steps = total_steps(config.train, N);
  e.snapshots = long(snapshot_steps(config.track, e.total_steps).size());
  e.snapshot_disk = std::uint64_t(e.snapshots) * parameter_bytes;
  if (config.track.save_cosines) e.cosine_disk = std::uint64_t(e.snapshots) * cosine_values * 4;
  e.checkpoint_disk = (1 + moments) * parameter_bytes;
  return e;
}

}  // namespace

RunEstimate estimate_run(const RunConfig& config, const ModelSpec& spec, const Data& data) {
  return config.dtype == Dtype::float32 ? estimate_typed<float>(config, spec, data)
                                        : estimate_typed<double>(config, spec, data);
}

std::string format_bytes(std::uint64_t bytes) {
  const char* units[] = {"bytes", "kB", "MB", "GB", "TB", "PB"};
  double value = double(bytes);
  int unit = 0;
  while (value >= 1000 && unit < 5) value /= 1000, ++unit;
  if (unit == 0) return fmt::format("{} bytes", bytes);
  return fmt::format("{:.3g} {}", value, units[unit]);
}

std::string describe_estimate(const RunEstimate& e) {
  std::string text = fmt::format(
      "memory: about {} (model and one batch {}, optimizer state {}, data {}, tracking {}, "
      "the program {})\n",
      format_bytes(e.memory()), format_bytes(e.model), format_bytes(e.optimizer),
      format_bytes(e.data), format_bytes(e.tracking), format_bytes(e.process));
  text += fmt::format("disk: about {} ({} snapshots of the weights {}, cosine matrices {}, "
                      "checkpoint {})\n",
                      format_bytes(e.disk()), e.snapshots, format_bytes(e.snapshot_disk),
                      format_bytes(e.cosine_disk), format_bytes(e.checkpoint_disk));
  return text;
}

namespace {

// A number from a "Key:   123 kB" line of /proc/meminfo, in bytes; 0 if absent.
std::uint64_t meminfo_bytes(const std::string& key) {
  std::ifstream in("/proc/meminfo");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(key + ":", 0) != 0) continue;
    try {
      return std::stoull(line.substr(key.size() + 1)) * 1024;
    } catch (const std::exception&) {
      return 0;
    }
  }
  return 0;
}

// A cgroup v2 file holding one number (or "max"); 0 if absent or unlimited.
std::uint64_t cgroup_value(const std::string& file) {
  std::ifstream in("/sys/fs/cgroup/" + file);
  std::string text;
  if (!(in >> text) || text == "max") return 0;
  try {
    return std::stoull(text);
  } catch (const std::exception&) {
    return 0;
  }
}

}  // namespace

std::uint64_t available_memory() {
  std::uint64_t available = meminfo_bytes("MemAvailable");
  // A cap the user sets, e.g. on a machine shared with others (docs/run-directory.md).
  if (const char* cap = std::getenv("CONDENSE_MEMORY_LIMIT"); cap && *cap) {
    std::uint64_t limit = 0;
    const auto [end, error] = std::from_chars(cap, cap + std::strlen(cap), limit);
    if (error != std::errc() || *end != '\0' || limit == 0)
      fail_input("CONDENSE_MEMORY_LIMIT = \"{}\": expected a number of bytes > 0", cap);
    if (available == 0 || limit < available) available = limit;
  }
  const std::uint64_t limit = cgroup_value("memory.max");
  if (limit > 0) {
    const std::uint64_t used = cgroup_value("memory.current");
    const std::uint64_t left = limit > used ? limit - used : 0;
    if (available == 0 || left < available) available = left;
  }
  return available;
}

void check_memory(const RunEstimate& estimate, std::uint64_t available) {
  if (available == 0 || estimate.memory() <= available) return;
  fail_input("the run needs about {} of memory, but {} are available on this machine\n  {}"
             "  use fewer channels or units, a smaller batch (train.batch_size) or float32 "
             "(dtype), or try anyway with --no-memory-check",
             format_bytes(estimate.memory()), format_bytes(available),
             describe_estimate(estimate).substr(0, describe_estimate(estimate).find('\n') + 1));
}

}  // namespace condense
