#include "condense/pipeline/external_run.hpp"

#include <fmt/format.h>

#include <set>

#include "condense/analysis/weight_tensors.hpp"
#include "condense/core/atomic_file.hpp"
#include "condense/core/error.hpp"
#include "condense/pipeline/train_run.hpp"
#include "condense/rundir/snapshot_index.hpp"

namespace condense {

namespace fs = std::filesystem;

namespace {

// The run directory, made after its checks, with config.toml in it.
RunDirectory prepare(const fs::path& root, const std::string& config_text, bool overwrite,
                     const std::string& overwrite_option) {
  check_new_run_directory(
      root, overwrite, overwrite_option,
      fmt::format("give another directory, or {} to replace it", overwrite_option));
  RunDirectory run = make_new_run_directory(root);
  write_file_atomic(run.config(), config_text);
  return run;
}

std::string checked_config_text(const RunConfig& config) {
  if (!config.external.given())
    fail_input("a run trained outside condense needs its [external] description (trained_with)");
  return to_toml(config);
}

// A tensor's name becomes a file name in the snapshot folder: nothing that could leave it.
void check_tensor(const ExternalTensor& tensor, long step) {
  const std::string& name = tensor.name;
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos ||
      name.find('\\') != std::string::npos || name.find('\0') != std::string::npos)
    fail_input(
        "step {}: \"{}\" cannot name a snapshot file: expected a parameter name such as "
        "conv1.weight, without slashes",
        step, name);
  std::int64_t size = 1;
  for (std::int64_t d : tensor.shape) {
    if (d < 0) fail_input("step {}: {} has shape {}", step, name, shape_string(tensor.shape));
    size *= d;
  }
  if (std::size_t(size) != tensor.values.size())
    fail_input("step {}: {} has shape {} but {} values", step, name, shape_string(tensor.shape),
               tensor.values.size());
  if (tensor.stored != NpyType::float32 && tensor.stored != NpyType::float64)
    fail_input("step {}: {}: snapshots are stored as float32 or float64", step, name);
}

}  // namespace

ExternalRun::ExternalRun(const fs::path& root, const RunConfig& config, bool overwrite,
                         const std::string& overwrite_option, bool quiet)
    : config_(config),
      run_(prepare(root, checked_config_text(config), overwrite, overwrite_option)),
      recorder_(run_, measure_options(config.track), quiet, config.track.save_cosines) {}

void ExternalRun::describe(const ExternalTraining& external) {
  RunConfig config = config_;
  config.external = external;
  write_file_atomic(run_.config(), checked_config_text(config));
  config_ = std::move(config);
}

std::vector<std::string> ExternalRun::snapshot(long step,
                                               const std::vector<ExternalTensor>& tensors) {
  if (step < 0) fail_input("step {} is negative: steps count optimizer steps from 0", step);
  if (!steps_.empty() && step <= steps_.back())
    fail_input("step {} does not follow step {}: snapshot steps must increase", step,
               steps_.back());
  std::set<std::string> names;
  for (const ExternalTensor& tensor : tensors) {
    check_tensor(tensor, step);
    if (!names.insert(tensor.name).second)
      fail_input("step {}: {} is given twice", step, tensor.name);
  }
  const fs::path folder = run_.snapshot(step);
  make_directories(folder);
  std::vector<NamedTensor> named;
  named.reserve(tensors.size());
  for (const ExternalTensor& tensor : tensors) {
    // Deferred: flushed with the tables (write_tables), as the trainer flushes at checkpoints.
    write_npy(folder / (tensor.name + ".npy"), tensor.values.data(), tensor.shape, tensor.stored,
              Flush::deferred);
    named.push_back({tensor.name, tensor.shape, tensor.values, folder.string()});
  }
  const bool first = steps_.empty();
  steps_.push_back(step);
  // RD is measured against the first snapshot (step 0 of a tracked training), read back as
  // `condense analyze RUN` reads it.
  if (first) recorder_.read_initial(step);
  std::vector<std::string> skipped;  // tensors of no conv or linear layer: not measured
  recorder_.record(step, group_layers(named, true, &skipped));
  return recorder_.unmeasured();
}

void ExternalRun::write_tables(const std::vector<MetricsRow>& rows,
                               const std::vector<std::string>& extra_columns) {
  const std::string metrics = metrics_csv(rows, extra_columns);
  flush_file_system(run_.root);
  write_file_atomic(run_.metrics(), metrics);
  write_file_atomic(run_.snapshot_index(), snapshot_index_csv(steps_));
}

void ExternalRun::finish(RunSummary summary) {
  recorder_.finish();
  flush_file_system(run_.root);
  summary.provenance = run_provenance();
  summary.analysis_seconds = recorder_.seconds();
  write_summary(run_.summary(), summary);
}

}  // namespace condense
