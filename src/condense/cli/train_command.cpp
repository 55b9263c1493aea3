// condense train CONFIG.toml [--set key=value]... [--out DIR] [--resume DIR] [--overwrite]
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "condense/cli/commands.hpp"
#include "condense/cli/condensation_tracking.hpp"
#include "condense/cli/prediction.hpp"
#include "condense/config/config.hpp"
#include "condense/core/atomic_file.hpp"
#include "condense/core/error.hpp"
#include "condense/core/parallel.hpp"
#include "condense/nn/init.hpp"
#include "condense/nn/model.hpp"
#include "condense/analysis/records.hpp"
#include "condense/pipeline/resume_policy.hpp"
#include "condense/rundir/snapshot_index.hpp"
#include "condense/pipeline/run_estimate.hpp"
#include "condense/train/checkpoint.hpp"
#include "condense/report/report.hpp"
#include "condense/train/trainer.hpp"

namespace condense {

namespace fs = std::filesystem;

namespace {

struct TrainOptions {
  std::string config_path;
  std::vector<std::string> overrides;
  std::string out;
  std::string resume;
  bool overwrite = false;
  bool quiet = false;
  bool no_report = false;
  bool dry_run = false;
  bool no_memory_check = false;
};

// Written into every run directory when it is made: --overwrite replaces only directories that
// condense made, even one left by a run that failed before writing anything else.
constexpr const char* kRunMarker = ".condense-run";

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
    fail_input("train.loss = \"mse\" needs data.target = \"onehot\", \"binary\" or \"regression\", "
               "not \"class\" (class indices go with cross-entropy)");
}

// Whether `root` is a directory condense made for a run: its marker, or (runs written before the
// marker) config.toml with the summary or the snapshot index beside it.
bool is_run_directory(const RunDirectory& run) {
  std::error_code error;
  return fs::exists(run.root / kRunMarker, error) ||
         (fs::exists(run.config(), error) &&
          (fs::exists(run.summary(), error) || fs::exists(run.snapshot_index(), error)));
}

// Checks, before anything is loaded or written, that request.root can take the run: a new
// directory, an empty one, or with --overwrite a run directory condense made; when resuming, a run
// directory with a checkpoint.
void check_directory(const TrainRequest& request) {
  const fs::path& root = request.root;
  const RunDirectory run{root};
  std::error_code error;
  const auto status = fs::symlink_status(root, error);
  if (request.resume) {
    if (!fs::exists(run.config(), error))
      fail_input("{} is not a run directory: {} is missing", root.string(), run.config().string());
    return;
  }
  if (!fs::exists(status)) return;
  if (fs::is_symlink(status) && request.overwrite)
    fail_input("{} is a symbolic link; --overwrite replaces only a directory: give the directory "
               "it points to ({})",
               root.string(), fs::read_symlink(root, error).string());
  if (!fs::is_directory(root, error))
    fail_input("{} exists and is not a directory; give a new or empty directory for the run",
               root.string());
  if (fs::is_empty(root, error)) return;
  if (!request.overwrite)
    fail_input("{} already exists; use --resume {} to continue it or --overwrite to replace it",
               root.string(), root.string());
  if (!is_run_directory(run))
    fail_input("{} exists and is not a condense run directory (no {} marker, no config.toml with "
               "summary.json or snapshots/index.csv); refusing to overwrite it",
               root.string(), kRunMarker);
}

// Makes the run directory (replacing the one check_directory allowed to be replaced) and marks it
// as condense's at once; a resumed run keeps its own.
RunDirectory prepare_directory(const TrainRequest& request) {
  const fs::path& root = request.root;
  RunDirectory run{root};
  if (request.resume) return run;
  std::error_code error;
  if (fs::exists(root, error) && !fs::is_empty(root, error)) {
    fs::remove_all(root, error);
    if (error) fail_io("cannot remove {}: {}", root.string(), error.message());
  }
  make_directories(root);
  // The marker also checks that the folder is writable before anything long starts.
  write_file_atomic(root / kRunMarker, "a condense run directory (docs/run-directory.md)\n");
  make_directories(run.snapshots());
  return run;
}

// The theory's prediction (docs/science.md §2) beside the measurement: prediction.json, v1.npy and
// the predicted alignment curve from the run's own initial weights. Models the theory does not
// cover get a plain sentence saying why, and align_v1 stays empty.
template <class T>
void write_run_prediction(const RunConfig& config, const Data& data, const Model<T>& model,
                          const RunDirectory& run, bool quiet) {
  std::string why_not;
  const std::optional<Prediction> prediction = predict_for(config, data, &why_not);
  if (!prediction) {
    if (!quiet) fmt::print(stderr, "condense: {}\n", why_not);
    return;
  }
  write_prediction(*prediction, run);
  // Every step while the run is short, else the log schedule at 100 points per decade.
  const long total = total_steps(config.train, data.train.size);
  TrackConfig dense;
  dense.per_decade = 100;
  std::vector<long> steps = snapshot_steps(dense, total);
  if (total <= 2000) {
    steps.resize(std::size_t(total) + 1);
    for (long s = 0; s <= total; ++s) steps[std::size_t(s)] = s;
  }
  write_file_atomic(run.predicted_alignment(),
                    predicted_alignment_csv(*prediction, model.parameters(), steps));
}

// condense train --dry-run: what the run would be and take, on stdout; nothing is written.
void print_dry_run(const RunConfig& config, const ModelSpec& spec, const Data& data,
                   const RunEstimate& estimate, const TrainRequest& request) {
  const std::string description = config.dtype == Dtype::float32
                                      ? Model<float>::describe_spec(spec)
                                      : Model<double>::describe_spec(spec);
  std::error_code error;
  const bool exists = fs::exists(request.root, error) && !fs::is_empty(request.root, error);
  const std::string directory =
      request.resume ? fmt::format("continued from step {}",
                                   read_checkpoint_step(RunDirectory{request.root}.checkpoint()))
      : !exists        ? "new"
      : request.overwrite ? "exists; --overwrite replaces it"
                          : "exists; training needs --overwrite or --resume";
  fmt::print("condense train --dry-run: nothing is written\n");
  fmt::print("data: {}\n", data.description);
  fmt::print("model:\n{}", description);
  fmt::print("parameters: {} ({}, {} threads)\n", estimate.parameters, dtype_name(config.dtype),
             thread_count());
  fmt::print("steps: {}, {} snapshots, an evaluation every {} steps\n", estimate.total_steps,
             estimate.snapshots, config.train.eval_every);
  fmt::print("{}", describe_estimate(estimate));
  const std::uint64_t available = available_memory();
  fmt::print("available memory: {}{}\n", available ? format_bytes(available) : "unknown",
             available && estimate.memory() > available ? " (too little: training is refused)"
                                                        : "");
  fmt::print("run directory: {} ({})\n", request.root.string(), directory);
}

template <class T>
std::vector<T> converted(const std::vector<double>& values) {
  return std::vector<T>(values.begin(), values.end());
}

template <class T>
int train_typed(const RunConfig& config, const std::string& resolved, const RunDirectory& run,
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

  nlohmann::json summary;
  summary["status"] = outcome.status == TrainOutcome::Status::completed   ? "completed"
                      : outcome.status == TrainOutcome::Status::interrupted ? "interrupted"
                                                                              : "diverged";
  summary["message"] = outcome.message;
  summary["config_hash"] = fmt::format("{:016x}", fnv1a(resolved));
  summary["condense_version"] = CONDENSE_VERSION;
  summary["compiler"] = fmt::format("GCC {}.{}.{}", __GNUC__, __GNUC_MINOR__, __GNUC_PATCHLEVEL__);
  summary["eigen_version"] = fmt::format("{}.{}.{}", EIGEN_WORLD_VERSION, EIGEN_MAJOR_VERSION,
                                         EIGEN_MINOR_VERSION);
  summary["machine"] = {{"hostname", hostname()},
                        {"cpu", cpu_model()},
                        {"threads", thread_count()}};
  summary["finished_at"] = utc_now();
  summary["dtype"] = dtype_name(config.dtype);
  summary["steps"] = outcome.steps_done;
  summary["total_steps"] = total_steps(config.train, data.train.size);
  summary["training_seconds"] = outcome.wall_seconds;
  summary["analysis_seconds"] = condensation->seconds();  // this session's, within training
  summary["wall_seconds"] =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  summary["parameters"] = model.parameters().size();
  summary["data"] = data.description;
  auto metric = [](double v) { return std::isnan(v) ? nlohmann::json(nullptr) : nlohmann::json(v); };
  summary["final"] = {{"step", outcome.last.step},
                      {"train_loss", outcome.last.train_loss},
                      {"train_acc", metric(outcome.last.train_acc)},
                      {"test_loss", metric(outcome.last.test_loss)},
                      {"test_acc", metric(outcome.last.test_acc)}};
  write_file_atomic(run.summary(), summary.dump(2) + "\n");
  // The report of any run, finished or not. Training has succeeded by now, so a report that
  // cannot be completed (gnuplot missing) is a warning, not a failed run.
  if (options.report) {
    try {
      if (run_report(run.root, ReportOptions{}, options.quiet) != 0)
        fmt::print(stderr, "condense: warning: the report is incomplete; redraw with: condense "
                           "report {}\n",
                   run.root.string());
    } catch (const std::exception& e) {
      fmt::print(stderr, "condense: warning: no report: {}\n", e.what());
    }
  }

  switch (outcome.status) {
    case TrainOutcome::Status::completed:
      if (!options.quiet)
        fmt::print(stderr, "condense: condensation measures of {} snapshots: {:.2f} s ({:.1f}% of "
                           "training)\n",
                   condensation->snapshots(), condensation->seconds(),
                   100 * condensation->seconds() / std::max(outcome.wall_seconds, 1e-9));
      if (!options.quiet) fmt::print(stderr, "condense: done, run directory {}\n", run.root.string());
      return 0;
    case TrainOutcome::Status::interrupted:
      fmt::print(stderr, "condense: {}; continue with: condense train --resume {}\n",
                 outcome.message, run.root.string());
      return kExitInterrupted;
    case TrainOutcome::Status::diverged:
      fmt::print(stderr, "condense: error: {}; the run directory {} keeps everything up to it\n",
                 outcome.message, run.root.string());
      return kExitDiverged;
  }
  return 0;
}

int run_train(const TrainOptions& options) {
  LoadedConfig loaded;
  fs::path root;
  if (!options.resume.empty()) {
    if (!options.out.empty())
      fail_input("--out {} and --resume {} name two run directories: a resumed run stays in its "
                 "own; give one of them",
                 options.out, options.resume);
    if (options.overwrite)
      fail_input("--overwrite and --resume contradict each other: --resume continues {}, "
                 "--overwrite would replace it",
                 options.resume);
    root = options.resume;
    const RunDirectory run{root};
    if (!fs::exists(run.config()))
      fail_input("{} is not a run directory: {} is missing", root.string(), run.config().string());
    // With a config file, the run continues with that file's settings (and --set), which the
    // resume rules then compare with the run's own; without one, the run's own with --set.
    loaded = options.config_path.empty()
                 ? load_run_config_and_warnings(read_file(run.config()), run.config().string(),
                                                options.overrides)
                 : load_config_and_warnings(options.config_path, options.overrides);
  } else {
    if (options.config_path.empty())
      fail_input("train needs a config file, e.g. condense train configs/quickstart.toml (condense "
                 "config lists every key), or --resume RUN to continue a run");
    loaded = load_config_and_warnings(options.config_path, options.overrides);
    root = !options.out.empty() ? fs::path(options.out)
                                : fs::path("runs") / fs::path(options.config_path).stem();
  }
  if (!options.quiet)
    for (const auto& warning : loaded.warnings)
      fmt::print(stderr, "condense: warning: {}\n", warning);
  const RunConfig& config = loaded.config;
  TrainRequest request;
  request.root = root;
  request.resume = !options.resume.empty();
  request.overwrite = options.overwrite;
  request.quiet = options.quiet;
  request.report = !options.no_report;
  request.dry_run = options.dry_run;
  request.memory_check = !options.no_memory_check;
  return train_config(config, request);
}

}  // namespace

int train_config(const RunConfig& config, const TrainRequest& request) {
  const auto wall_start = std::chrono::steady_clock::now();
  check_loss_and_targets(config);
  set_thread_count(config.threads);
  const std::string resolved = to_toml(config);
  check_directory(request);
  RunConfig saved;
  const RunDirectory existing{request.root};
  if (request.resume) {
    saved = load_config_text(read_file(existing.config()), existing.config().string(), {});
    check_resume_settings(saved, config, request.root.string());
  }

  const Data data = load_data(config.data, config.seed);
  ModelSpec spec = config.model;
  spec.input = data.train.shape;
  if (spec.outputs == 0) spec.outputs = data.train.target_width;
  else if (spec.outputs != data.train.target_width)
    fail_input("model.outputs = {}, but data.target = \"{}\" needs {} outputs", spec.outputs,
               target_name(config.data.target), data.train.target_width);
  if (config.train.batch_size > data.train.size)
    fail_input("train.batch_size = {} is larger than the training set ({} samples): use at most "
               "{}, or 0 for full-batch training",
               config.train.batch_size, data.train.size, data.train.size);
  const RunEstimate estimate = estimate_run(config, spec, data);
  if (request.dry_run) {
    print_dry_run(config, spec, data, estimate, request);
    return 0;
  }
  if (request.memory_check) check_memory(estimate, available_memory());
  if (request.resume) {
    check_resume_steps(config, read_checkpoint_step(existing.checkpoint()),
                       total_steps(saved.train, data.train.size), estimate.total_steps,
                       request.root.string());
    // The run's tables are read whole before anything is written: a damaged one stops the resume
    // here, naming its file and line.
    if (fs::exists(existing.metrics())) read_metrics(existing.metrics());
    if (fs::exists(existing.snapshot_index())) read_snapshot_index(existing.snapshots());
    if (fs::exists(existing.analysis())) read_analysis_csv(existing.analysis());
  }

  const RunDirectory run = prepare_directory(request);
  return config.dtype == Dtype::float32
             ? train_typed<float>(config, resolved, run, request, data, spec, wall_start)
             : train_typed<double>(config, resolved, run, request, data, spec, wall_start);
}

void add_train_command(CLI::App& app) {
  auto options = std::make_shared<TrainOptions>();
  auto* command = app.add_subcommand(
      "train", "Train a network described by a TOML config and write a run directory.\n"
               "Every key and its default: condense config");
  command->add_option("CONFIG", options->config_path,
                      "The run's TOML config (required unless --resume)");
  command->add_option("--set", options->overrides,
                      "Override a key (repeatable): --set init.std=1e-8 --set model.activation=relu")
      ->allow_extra_args(false);
  command->add_option("--out", options->out, "Run directory (default: runs/<config name>)");
  command->add_option("--resume", options->resume,
                      "Continue the run in this directory from its checkpoint (--set "
                      "train.steps=N extends it)");
  command->add_flag("--overwrite", options->overwrite, "Replace an existing run directory");
  command->add_flag("--quiet", options->quiet, "No progress output");
  command->add_flag("--no-report", options->no_report,
                    "Skip the figures and report.html at the end (condense report RUN makes them)");
  command->add_flag("--dry-run", options->dry_run,
                    "Print the resolved model, its parameter count and the memory and disk the "
                    "run will take; write nothing");
  command->add_flag("--no-memory-check", options->no_memory_check,
                    "Train even when the memory estimate exceeds the memory available");
  command->callback([options] {
    const int code = run_train(*options);
    if (code != 0) throw CommandExit{code};
  });
}

}  // namespace condense
