// condense train CONFIG.toml [--set key=value]... [--out DIR] [--resume DIR] [--overwrite]
//                [--dry-run] [--no-memory-check] [--no-disk-check] [--no-report] [--quiet]
// The options of a run; the run itself is pipeline/train_run.hpp.
#include <fmt/format.h>

#include <filesystem>

#include "condense/cli/commands.hpp"
#include "condense/config/config.hpp"
#include "condense/core/atomic_file.hpp"
#include "condense/core/error.hpp"
#include "condense/pipeline/train_run.hpp"
#include "condense/rundir/layout.hpp"

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
  bool no_disk_check = false;
};

int run_train(const TrainOptions& options) {
  LoadedConfig loaded;
  fs::path root;
  if (!options.resume.empty()) {
    if (!options.out.empty())
      fail_input(
          "--out {} and --resume {} name two run directories: a resumed run stays in its "
          "own; give one of them",
          options.out, options.resume);
    if (options.overwrite)
      fail_input(
          "--overwrite and --resume contradict each other: --resume continues {}, "
          "--overwrite would replace it",
          options.resume);
    root = options.resume;
    const RunDirectory run{root};
    if (!fs::exists(run.config()))
      fail_input("{} is not a run directory: {} is missing", root.string(), run.config().string());
    const LoadedConfig own =
        load_run_config_and_warnings(read_file(run.config()), run.config().string(), {});
    if (own.config.external.given())
      fail_input("{}", external_training_refusal(own.config.external, root.string()));
    // With a config file, the run continues with that file's settings (and --set), which the
    // resume rules then compare with the run's own; without one, the run's own with --set.
    loaded = options.config_path.empty()
                 ? load_run_config_and_warnings(read_file(run.config()), run.config().string(),
                                                options.overrides)
                 : load_config_and_warnings(options.config_path, options.overrides);
  } else {
    if (options.config_path.empty())
      fail_input(
          "train needs a config file, e.g. condense train configs/quickstart.toml (condense "
          "config lists every key), or --resume RUN to continue a run");
    loaded = load_config_and_warnings(options.config_path, options.overrides);
    if (loaded.config.external.given())
      fail_input("{}", external_training_refusal(
                           loaded.config.external,
                           fmt::format("{} describes a run that", options.config_path)));
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
  request.disk_check = !options.no_disk_check;
  return exit_code_of(train_run(config, request));
}

}  // namespace

void add_train_command(CLI::App& app) {
  auto options = std::make_shared<TrainOptions>();
  auto* command =
      app.add_subcommand("train",
                         "Train a network described by a TOML config and write a run directory.\n"
                         "Every key and its default: condense config");
  command->add_option("CONFIG", options->config_path,
                      "The run's TOML config (required unless --resume)");
  command
      ->add_option("--set", options->overrides,
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
  command->add_flag("--no-disk-check", options->no_disk_check,
                    "Train even when the disk estimate exceeds the free disk");
  command->callback([options] {
    const int code = run_train(*options);
    if (code != 0) throw CommandExit{code};
  });
}

}  // namespace condense
