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
#include "condense/rundir/analysis_table.hpp"
#include "condense/rundir/metrics.hpp"
#include "condense/train/trainer.hpp"

namespace condense {

namespace {

// The layers whose units the analysis compares: every weight tensor, (M, rest...).
struct WeightShape {
  std::uint64_t units = 0, size = 0;  // M, and the values of one unit's weight (plus its bias)
};

// What a file or folder of `bytes` takes on disk: whole blocks of 4 kB, the size of a block on the
// usual Linux file systems, so that a run of many small files is not underestimated tenfold.
constexpr std::uint64_t kBlock = 4096;
std::uint64_t on_disk(std::uint64_t bytes) { return (bytes + kBlock - 1) / kBlock * kBlock; }
constexpr std::uint64_t kNpyHeader = 128;

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
  // Counted, not listed: a schedule of 10^10 snapshot steps is refused, not built.
  e.snapshots = SnapshotSchedule(config.track, e.total_steps).count();
  // A snapshot: its folder and an NPY file per tensor. Its cosines: a folder, per layer the matrix
  // (float32) and the order (int64), and clusters.json (about 500 characters per layer and 60 per
  // unit, measured).
  std::uint64_t snapshot_bytes = kBlock, cosine_bytes = kBlock, clusters_bytes = 0;
  for (const ParameterInfo& info : Model<T>::parameter_info(spec))
    snapshot_bytes += on_disk(kNpyHeader + info.size * sizeof(T));
  for (const auto& [name, layer] : layers) {
    cosine_bytes += on_disk(kNpyHeader + layer.units * layer.units * 4) +
                    on_disk(kNpyHeader + layer.units * 8);
    clusters_bytes += 500 + 60 * layer.units;
  }
  cosine_bytes += on_disk(clusters_bytes);
  e.snapshot_disk = std::uint64_t(e.snapshots) * snapshot_bytes;
  if (config.track.save_cosines) e.cosine_disk = std::uint64_t(e.snapshots) * cosine_bytes;
  e.checkpoint_disk = on_disk((1 + moments) * parameter_bytes + 1024);

  // The tables are kept in memory for the whole run and written whole (RunRecord, RunAnalysis):
  // a metrics row at every evaluation step and at snapshot steps, an analysis row per layer and
  // snapshot, each with its line of text (at most about 200 characters, measured).
  constexpr std::uint64_t kLineBytes = 200;
  e.metrics_rows = e.total_steps / std::max(1L, config.train.eval_every) + 2 + e.snapshots;
  const std::uint64_t analysis_rows = std::uint64_t(e.snapshots) * layers.size();
  e.table_disk = on_disk((std::uint64_t(e.metrics_rows) + analysis_rows) * kLineBytes) +
                 on_disk(std::uint64_t(e.snapshots) * 32) +  // snapshots/index.csv
                 16 * kBlock;  // config, prediction, summary and the run's other small files
  e.tables = std::uint64_t(e.metrics_rows) * (sizeof(MetricsRow) + kLineBytes) +
             analysis_rows * (sizeof(AnalysisRow) + kLineBytes);
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
      "tables {}, the program {})\n",
      format_bytes(e.memory()), format_bytes(e.model), format_bytes(e.optimizer),
      format_bytes(e.data), format_bytes(e.tracking), format_bytes(e.tables),
      format_bytes(e.process));
  text += fmt::format("disk: about {} ({} snapshots of the weights {}, cosine matrices {}, "
                      "tables {}, checkpoint {})\n",
                      format_bytes(e.disk()), e.snapshots, format_bytes(e.snapshot_disk),
                      format_bytes(e.cosine_disk), format_bytes(e.table_disk),
                      format_bytes(e.checkpoint_disk));
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
  // The advice follows what takes the memory: the rows of a very long run, or its size.
  const bool tables = estimate.tables > estimate.model + estimate.data + estimate.tracking;
  const std::string lines = describe_estimate(estimate);
  fail_input("the run needs about {} of memory, but {} are available on this machine\n  {}"
             "  {}, or try anyway with --no-memory-check",
             format_bytes(estimate.memory()), format_bytes(available),
             lines.substr(0, lines.find('\n') + 1),
             tables ? "use fewer steps, a larger train.eval_every or fewer snapshots (track.snapshots)"
                    : "use fewer channels or units, a smaller batch (train.batch_size) or float32 "
                      "(dtype)");
}

std::uint64_t available_disk(const std::filesystem::path& path) {
  std::error_code error;
  std::filesystem::path existing = std::filesystem::absolute(path, error);
  if (error) return 0;
  while (!std::filesystem::exists(existing, error) && existing.has_relative_path())
    existing = existing.parent_path();
  const std::filesystem::space_info space = std::filesystem::space(existing, error);
  return error ? 0 : space.available;
}

void check_disk(const RunEstimate& estimate, std::uint64_t needed, std::uint64_t available,
                const std::filesystem::path& root) {
  if (available == 0 || needed <= available) return;
  const std::string lines = describe_estimate(estimate);
  fail_input("the run needs about {} of disk, but {} are free where {} goes\n  {}"
             "  save fewer snapshots (track.snapshots = \"log\", or a larger K in \"every:K\"), "
             "no cosine matrices (track.save_cosines = false), fewer steps, or try anyway with "
             "--no-disk-check",
             format_bytes(needed), format_bytes(available), root.string(),
             lines.substr(lines.find('\n') + 1));
}

}  // namespace condense
