#include "condense/pipeline/train_run.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>

#include "condense/core/atomic_file.hpp"
#include "condense/core/error.hpp"
#include "condense/core/parallel.hpp"
#include "condense/nn/init.hpp"
#include "condense/nn/model.hpp"
#include "condense/pipeline/condensation_tracking.hpp"
#include "condense/pipeline/report_run.hpp"
#include "condense/pipeline/resume_policy.hpp"
#include "condense/pipeline/run_estimate.hpp"
#include "condense/pipeline/run_prediction.hpp"
#include "condense/rundir/analysis_table.hpp"
#include "condense/rundir/prediction_record.hpp"
#include "condense/rundir/snapshot_index.hpp"
#include "condense/rundir/summary.hpp"
#include "condense/train/checkpoint.hpp"
#include "condense/train/trainer.hpp"

namespace condense {

namespace fs = std::filesystem;

namespace {

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  return "unknown";
}

std::string hostname() {
  char name[256] = {};
  ::gethostname(name, sizeof(name) - 1);
  return name;
}

std::uint64_t fnv1a(const std::string& text) {
  std::uint64_t hash = 0xcbf29ce484222325ULL;
  for (unsigned char c : text) hash = (hash ^ c) * 0x100000001b3ULL;
  return hash;
}

std::string utc_now() {
  const std::time_t now = std::time(nullptr);
  char buffer[32];
  std::strftime(buffer, sizeof(buffer), "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  return buffer;
}

// The targets the loss needs, checked against the data's target encoding.
void check_loss_and_targets(const RunConfig& config) {
  const bool classes = config.data.target == TargetKind::class_index;
  if (config.train.loss == LossKind::cross_entropy && !classes)
    fail_input("train.loss = \"cross-entropy\" needs data.target = \"class\", not \"{}\"",
               target_name(config.data.target));
  if (config.train.loss == LossKind::mse && classes)
    fail_input(
        "train.loss = \"mse\" needs data.target = \"onehot\", \"binary\" or \"regression\", "
        "not \"class\" (class indices go with cross-entropy)");
}

}  // namespace

RunProvenance run_provenance() {
  RunProvenance p;
  p.condense_version = CONDENSE_VERSION;
  p.compiler = CONDENSE_COMPILER;
  p.eigen_version =
      fmt::format("{}.{}.{}", EIGEN_WORLD_VERSION, EIGEN_MAJOR_VERSION, EIGEN_MINOR_VERSION);
  p.build_flags = CONDENSE_BUILD_FLAGS;
  p.hostname = hostname();
  p.cpu = cpu_model();
  p.threads = thread_count();
  p.finished_at = utc_now();
  return p;
}

namespace {

// Checks, before anything is loaded or written, that request.root can take the run: a new
// directory, an empty one, or with --overwrite a run directory condense made; when resuming, a run
// directory with a checkpoint.
void check_directory(const TrainRequest& request) {
  const RunDirectory run{request.root};
  std::error_code error;
  if (request.resume) {
    if (!fs::exists(run.config(), error))
      fail_input("{} is not a run directory: {} is missing", request.root.string(),
                 run.config().string());
    return;
  }
  check_new_run_directory(request.root, request.overwrite, "--overwrite",
                          fmt::format("use --resume {} to continue it or --overwrite to replace it",
                                      request.root.string()));
}

// Makes the run directory (replacing the one check_directory allowed to be replaced) and marks it
// as condense's at once; a resumed run keeps its own.
RunDirectory prepare_directory(const TrainRequest& request) {
  if (request.resume) return RunDirectory{request.root};
  return make_new_run_directory(request.root);
}

// What the run would be and take (condense train --dry-run).
std::string dry_run_text(const RunConfig& config, const ModelSpec& spec, const Data& data,
                         const RunEstimate& estimate, const TrainRequest& request) {
  const std::string description = config.dtype == Dtype::float32
                                      ? Model<float>::describe_spec(spec)
                                      : Model<double>::describe_spec(spec);
  std::error_code error;
  const bool exists = fs::exists(request.root, error) && !fs::is_empty(request.root, error);
  const std::string directory =
      request.resume      ? fmt::format("continued from step {}",
                                        read_checkpoint_step(RunDirectory{request.root}.checkpoint()))
      : !exists           ? "new"
      : request.overwrite ? "exists; --overwrite replaces it"
                          : "exists; training needs --overwrite or --resume";
  std::string text = "condense train --dry-run: nothing is written\n";
  text += fmt::format("data: {}\n", data.description);
  text += fmt::format("model:\n{}", description);
  text += fmt::format("parameters: {} ({}, {} threads)\n", estimate.parameters,
                      dtype_name(config.dtype), thread_count());
  text += fmt::format("steps: {}, {} snapshots, an evaluation every {} steps\n",
                      estimate.total_steps, estimate.snapshots, config.train.eval_every);
  text += describe_estimate(estimate);
  const std::uint64_t available = available_memory();
  text += fmt::format(
      "available memory: {}{}\n", available ? format_bytes(available) : "unknown",
      available && estimate.memory() > available ? " (too little: training is refused)" : "");
  const std::uint64_t free_disk = available_disk(request.root);
  text += fmt::format("free disk: {}{}\n", free_disk ? format_bytes(free_disk) : "unknown",
                      free_disk && estimate.disk() > free_disk
                          ? " (too little: training is refused)"
                          : "");
  text += fmt::format("run directory: {} ({})\n", request.root.string(), directory);
  return text;
}

// The bytes a run from `start` adds: the snapshots after it, and the tables and the checkpoint,
// which are written whole.
std::uint64_t disk_to_write(const RunConfig& config, const RunEstimate& estimate, long start) {
  if (start == 0 || estimate.snapshots == 0) return estimate.disk();
  const double left = double(SnapshotSchedule(config.track, estimate.total_steps).count_after(start)) /
                      double(estimate.snapshots);
  return std::uint64_t(double(estimate.snapshot_disk + estimate.cosine_disk) * left) +
         estimate.table_disk + estimate.checkpoint_disk;
}

template <class T>
std::vector<T> converted(const std::vector<double>& values) {
  return std::vector<T>(values.begin(), values.end());
}

template <class T>
RunStatus train_typed(const RunConfig& config, const std::string& resolved, const RunDirectory& run,
                      const TrainRequest& options, const Data& data, const ModelSpec& spec,
                      std::chrono::steady_clock::time_point wall_start) {
  Model<T> model(spec);
  const bool resume = options.resume;
  if (!resume) initialize(model.parameters(), config.init, config.seed);
  write_file_atomic(run.config(), resolved);

  const std::vector<T> train_inputs = converted<T>(data.train.inputs);
  const std::vector<T> train_targets = converted<T>(data.train.targets);
  const std::vector<T> test_inputs = converted<T>(data.test.inputs);
  const std::vector<T> test_targets = converted<T>(data.test.targets);
  TrainerSetup<T> setup;
  setup.model = &model;
  setup.train = config.train;
  setup.track = config.track;
  auto split = [](const DataSplit& s, const std::vector<T>& inputs, const std::vector<T>& targets) {
    SplitView<T> view;
    view.inputs = inputs.data();
    view.size = s.size;
    if (!s.labels.empty()) view.targets.labels = s.labels.data();
    if (!targets.empty()) view.targets.values = targets.data();
    return view;
  };
  setup.train_split = split(data.train, train_inputs, train_targets);
  setup.test_split = split(data.test, test_inputs, test_targets);
  setup.has_classes = config.data.target != TargetKind::regression;
  setup.seed = config.seed;
  setup.run = run;
  setup.resume = resume;
  setup.quiet = options.quiet;
  if (!resume) write_run_prediction(config, data, model, run, options.quiet);
  // Condensation measures at every snapshot: RUN/analysis.csv, RUN/cosines/ (docs/analysis.md).
  const auto condensation = track_condensation(setup);

  if (!options.quiet) {
    fmt::print(stderr, "condense: {} -> {}\n", data.description, run.root.string());
    fmt::print(stderr, "{}", model.describe());
    fmt::print(stderr, "{} parameters, {}, {} threads, {} steps\n", model.parameters().size(),
               dtype_name(config.dtype), thread_count(),
               total_steps(config.train, data.train.size));
  }
  const TrainOutcome outcome = run_training(setup);
  condensation->finish();
  flush_file_system(run.root);  // the snapshot files written since the last checkpoint

  RunSummary summary;
  summary.status = outcome.status;
  summary.message = outcome.message;
  summary.config_hash = fmt::format("{:016x}", fnv1a(resolved));
  summary.provenance = run_provenance();
  summary.dtype = dtype_name(config.dtype);
  summary.steps = outcome.steps_done;
  summary.total_steps = total_steps(config.train, data.train.size);
  summary.training_seconds = outcome.wall_seconds;
  summary.analysis_seconds = condensation->seconds();  // this session's, within training
  summary.wall_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  summary.parameters = long(model.parameters().size());
  summary.data = data.description;
  summary.final = {outcome.last.step, outcome.last.train_loss, outcome.last.train_acc,
                   outcome.last.test_loss, outcome.last.test_acc};
  write_summary(run.summary(), summary);
  // The report of any run, finished or not. Training has succeeded by now, so a report that
  // cannot be completed (gnuplot missing) is a warning, not a failed run.
  if (options.report) {
    try {
      if (!report_run(run.root, ReportOptions{}, options.quiet))
        fmt::print(stderr,
                   "condense: warning: the report is incomplete; redraw with: condense "
                   "report {}\n",
                   run.root.string());
    } catch (const std::exception& e) {
      fmt::print(stderr, "condense: warning: no report: {}\n", e.what());
    }
  }

  switch (outcome.status) {
    case RunStatus::completed:
      if (!options.quiet)
        fmt::print(stderr,
                   "condense: condensation measures of {} snapshots: {:.2f} s ({:.1f}% of "
                   "training)\n",
                   condensation->snapshots(), condensation->seconds(),
                   100 * condensation->seconds() / std::max(outcome.wall_seconds, 1e-9));
      if (!options.quiet)
        fmt::print(stderr, "condense: done, run directory {}\n", run.root.string());
      break;
    case RunStatus::interrupted:
      fmt::print(stderr, "condense: {}; continue with: condense train --resume {}\n",
                 outcome.message, run.root.string());
      break;
    case RunStatus::diverged:
    case RunStatus::failed:
      fmt::print(stderr, "condense: error: {}; the run directory {} keeps everything up to it\n",
                 outcome.message, run.root.string());
      break;
  }
  return outcome.status;
}

}  // namespace

RunStatus train_run(const RunConfig& config, const TrainRequest& request) {
  const auto wall_start = std::chrono::steady_clock::now();
  if (config.external.given())
    fail_input("{}", external_training_refusal(config.external, "the config describes a run that"));
  check_loss_and_targets(config);
  const ThreadCountScope thread_scope(config.threads);
  const std::string resolved = to_toml(config);
  check_directory(request);
  RunConfig saved;
  const RunDirectory existing{request.root};
  if (request.resume) {
    saved = load_config_text(read_file(existing.config()), existing.config().string(), {});
    if (saved.external.given())
      fail_input("{}", external_training_refusal(saved.external, request.root.string()));
    check_resume_settings(saved, config, request.root.string());
  }

  const Data data = load_data(config.data, config.seed);
  ModelSpec spec = config.model;
  spec.input = data.train.shape;
  if (spec.outputs == 0)
    spec.outputs = data.train.target_width;
  else if (spec.outputs != data.train.target_width)
    fail_input("model.outputs = {}, but data.target = \"{}\" needs {} outputs", spec.outputs,
               target_name(config.data.target), data.train.target_width);
  if (config.train.batch_size > data.train.size)
    fail_input(
        "train.batch_size = {} is larger than the training set ({} samples): use at most "
        "{}, or 0 for full-batch training",
        config.train.batch_size, data.train.size, data.train.size);
  const RunEstimate estimate = estimate_run(config, spec, data);
  if (request.dry_run) {
    fmt::print("{}", dry_run_text(config, spec, data, estimate, request));
    return RunStatus::completed;
  }
  if (request.memory_check) check_memory(estimate, available_memory());
  long start = 0;
  if (request.resume) {
    start = read_checkpoint_step(existing.checkpoint());
    check_resume_steps(config, start, total_steps(saved.train, data.train.size),
                       estimate.total_steps, request.root.string());
    // The run's tables and its prediction are read whole before anything is written: a damaged
    // one stops the resume here, naming its file and line or field.
    if (fs::exists(existing.metrics())) read_metrics(existing.metrics());
    if (fs::exists(existing.snapshot_index())) read_snapshot_index(existing.snapshots());
    if (fs::exists(existing.analysis())) read_analysis_csv(existing.analysis());
    if (fs::exists(existing.prediction())) read_prediction_record(existing.prediction());
  }

  if (request.disk_check) check_disk(estimate, disk_to_write(config, estimate, start),
                                     available_disk(request.root), request.root);

  const RunDirectory run = prepare_directory(request);
  return config.dtype == Dtype::float32
             ? train_typed<float>(config, resolved, run, request, data, spec, wall_start)
             : train_typed<double>(config, resolved, run, request, data, spec, wall_start);
}

void check_new_run_directory(const fs::path& root, bool overwrite, const std::string& option,
                             const std::string& exists_advice) {
  const RunDirectory run{root};
  std::error_code error;
  const auto status = fs::symlink_status(root, error);
  if (!fs::exists(status)) return;
  if (fs::is_symlink(status) && overwrite)
    fail_input(
        "{} is a symbolic link; {} replaces only a directory: give the directory it points to "
        "({})",
        root.string(), option, fs::read_symlink(root, error).string());
  if (!fs::is_directory(root, error))
    fail_input("{} exists and is not a directory; give a new or empty directory for the run",
               root.string());
  if (fs::is_empty(root, error)) return;
  if (!overwrite) fail_input("{} already exists; {}", root.string(), exists_advice);
  if (!is_run_directory(run))
    fail_input(
        "{} exists and is not a condense run directory (no {} marker, no config.toml with "
        "summary.json or snapshots/index.csv); refusing to overwrite it",
        root.string(), run.marker().filename().string());
}

RunDirectory make_new_run_directory(const fs::path& root) {
  RunDirectory run{root};
  std::error_code error;
  if (fs::exists(root, error) && !fs::is_empty(root, error)) {
    fs::remove_all(root, error);
    if (error) fail_io("cannot remove {}: {}", root.string(), error.message());
  }
  make_directories(root);
  // The marker also checks that the folder is writable before anything long starts.
  write_file_atomic(run.marker(), "a condense run directory (docs/run-directory.md)\n");
  make_directories(run.snapshots());
  return run;
}

int exit_code_of(RunStatus status) {
  switch (status) {
    case RunStatus::completed:
      return 0;
    case RunStatus::interrupted:
      return kExitInterrupted;
    case RunStatus::diverged:
    case RunStatus::failed:
      return kExitDiverged;
  }
  return kExitInternal;
}

}  // namespace condense
