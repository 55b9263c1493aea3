#pragma once
// What a run will take before it starts: the peak memory of training and tracking, and the disk
// its snapshots, cosine matrices and checkpoint fill (docs/run-directory.md, "Memory and disk").
// A run that cannot fit the machine's available memory is refused before anything is written.
#include <cstdint>
#include <filesystem>
#include <string>

#include "condense/config/config.hpp"
#include "condense/data/dataset.hpp"
#include "condense/nn/model_spec.hpp"

namespace condense {

struct RunEstimate {
  std::size_t parameters = 0;
  long total_steps = 0;
  // Memory, in bytes.
  std::uint64_t process = kProcessBytes;  // code, libraries, thread stacks, allocator slack
  std::uint64_t model = 0;      // parameters, gradients, layer outputs and caches of one batch
  std::uint64_t optimizer = 0;  // momentum and Adam moments
  std::uint64_t data = 0;       // the data as loaded, and in the model's type
  std::uint64_t tracking = 0;   // a snapshot's copy and the analysis of every layer at it
  std::uint64_t tables = 0;     // metrics and analysis rows, kept and written whole
  // Disk, in bytes.
  long snapshots = 0;
  long metrics_rows = 0;              // an upper bound: evaluation steps and snapshot steps
  std::uint64_t snapshot_disk = 0;    // the weights at every snapshot step
  std::uint64_t cosine_disk = 0;      // the cosine matrices (track.save_cosines)
  std::uint64_t table_disk = 0;       // metrics.csv and analysis.csv
  std::uint64_t checkpoint_disk = 0;  // RUN/checkpoint/state.bin

  // What condense takes before it allocates anything of a run's (measured: 7 MB for the
  // executable and its libraries, and the threads' stacks and allocator arenas on top).
  static constexpr std::uint64_t kProcessBytes = 16'000'000;

  std::uint64_t memory() const { return process + model + optimizer + data + tracking + tables; }
  std::uint64_t disk() const { return snapshot_disk + cosine_disk + table_disk + checkpoint_disk; }
};

// `spec` is the config's model with its input shape and outputs taken from `data`. Validates the
// model as building it would (InputError naming the layer), without allocating it.
RunEstimate estimate_run(const RunConfig& config, const ModelSpec& spec, const Data& data);

// Lines describing the estimate, for --dry-run and for the error of a run that does not fit.
std::string describe_estimate(const RunEstimate& estimate);

// The memory this process can still take: the kernel's MemAvailable, lowered by a cgroup limit
// (memory.max − memory.current) and by the environment's CONDENSE_MEMORY_LIMIT (bytes) where set.
// 0 when none can be read.
std::uint64_t available_memory();

// Throws InputError if `estimate` needs more memory than is available, with the estimate and what
// to change.
void check_memory(const RunEstimate& estimate, std::uint64_t available);

// The bytes free for an unprivileged user on the file system that holds `path`, or would hold it
// (its nearest existing ancestor); 0 when it cannot be read.
std::uint64_t available_disk(const std::filesystem::path& path);

// Throws InputError if the run's files, `needed` bytes of them, do not fit the `available` bytes
// at `root`, with the estimate and what to change. `available` 0 (unknown) passes.
void check_disk(const RunEstimate& estimate, std::uint64_t needed, std::uint64_t available,
                const std::filesystem::path& root);

// "1.5 GB", "312 MB", "12 kB": decimal units, three significant digits.
std::string format_bytes(std::uint64_t bytes);

}  // namespace condense
