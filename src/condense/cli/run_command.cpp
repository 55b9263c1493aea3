// condense run EXPERIMENT.toml [--quick] [--set key=value]... [--out DIR] [--quiet]
//
// One experiment of docs/science.md §3 in one command: every run of the series, then
// experiment.csv, the comparison figures and index.html (series/experiment.hpp,
// docs/experiments.md).
#include <fmt/format.h>

#include "condense/cli/commands.hpp"
#include "condense/series/experiment.hpp"

namespace condense {

namespace fs = std::filesystem;

void add_run_command(CLI::App& app) {
  struct Options {
    std::string file, out;
    ExperimentOptions experiment;
    bool quiet = false;
  };
  auto options = std::make_shared<Options>();
  CLI::App* command = app.add_subcommand(
      "run",
      "Run an experiment: a series of runs, their comparison figures and one page "
      "(experiments/*.toml, docs/experiments.md)");
  command->add_option("EXPERIMENT", options->file, "The experiment's TOML file")->required();
  command->add_flag("--quick", options->experiment.quick,
                    "The reduced version: apply the file's experiment.quick settings to every run");
  command
      ->add_option("--set", options->experiment.overrides,
                   "Override a key in every run (repeatable), e.g. --set data.dataset=mnist "
                   "--set data.path=/data/mnist")
      ->allow_extra_args(false);
  command->add_option(
      "--out", options->out,
      "Experiment folder (default: runs/<experiment name>, with _quick for --quick)");
  command->add_flag("--quiet", options->quiet, "No progress output from the runs");
  command->callback([options] {
    const Experiment experiment = load_experiment(options->file, options->experiment);
    if (!options->quiet)
      for (const auto& warning : experiment.warnings)
        fmt::print(stderr, "condense: warning: {}\n", warning);
    fs::path out = options->out;
    if (out.empty())
      out = fs::path("runs") /
            (fs::path(options->file).stem().string() + (options->experiment.quick ? "_quick" : ""));
    const ExperimentOutcome outcome = run_experiment(experiment, out, options->quiet);
    if (outcome.interrupted) throw CommandExit{kExitInterrupted};
    if (outcome.failed > 0) {
      fmt::print(stderr,
                 "condense: error: {} of {} runs failed (experiment.csv has their errors)\n",
                 outcome.failed, experiment.runs.size());
      throw CommandExit{kExitDiverged};
    }
  });
}

}  // namespace condense
