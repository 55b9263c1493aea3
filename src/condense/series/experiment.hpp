#pragma once
// `condense run EXPERIMENT.toml`: one command for one experiment of docs/science.md §3.
//
// An experiment file is a run config (every key of `condense config`, shared by all its runs)
// plus an [experiment] table naming the series:
//
//   [experiment]
//   title = "Two-layer CNN: alignment with v1 for four initialization scales"
//   description = "What the experiment shows, for its page."
//   quick = ["train.steps=20", "data.train_size=60"]     # the reduced version (--quick)
//   compare = [{ metric = "align_v1", log_x = true },
//              { metric = "mean_abs_cos", layer = "conv1", runs = ["GD", "Adam"], name = "opt" }]
//   [[experiment.runs]]
//   label = "std 1e-2"                                   # legend and table label
//   name = "std_1e-2"                                    # folder (default: from the label)
//   set = ["init.std=1e-2"]                              # as --set, applied to this run
//
// Each run trains into OUT/<name>/, a run directory like any other (with its report), and the
// experiment writes OUT/experiment.csv (one row per run), comparison figures in OUT/compare/ and
// OUT/index.html linking everything. Rerunning skips runs whose directory already holds a finished
// run of the same resolved config, resumes interrupted ones and retrains changed ones.
#include <filesystem>
#include <string>
#include <vector>

#include "condense/config/config.hpp"

namespace condense {

struct ExperimentRun {
  std::string label, name;
  RunConfig config;  // resolved: the file, the run's `set`, `quick` when asked for, then --set
};

struct ExperimentComparison {
  std::string metric;  // a metric of `condense compare`
  std::string layer;   // empty: the aligned or first tracked layer
  bool log_x = false;
  std::vector<std::string> runs;  // labels of the runs to overlay; empty: every run
  std::string name;               // folder in OUT/compare/; default: metric[_layer]
};

struct Experiment {
  std::filesystem::path file;
  std::string title, description;
  std::vector<ExperimentComparison> comparisons;
  std::vector<ExperimentRun> runs;
  std::vector<std::string> warnings;  // keys set that have no effect (series_warnings)
};

struct ExperimentOptions {
  std::vector<std::string> overrides;  // --set, applied to every run last
  bool quick = false;                  // apply experiment.quick to every run
};

// Reads an experiment file and resolves every run's config. Throws InputError naming the file,
// line and key of anything malformed, before anything is trained.
Experiment load_experiment(const std::filesystem::path& file, const ExperimentOptions& options);

struct ExperimentOutcome {
  int failed = 0;  // runs that diverged, were interrupted or could not be trained
  bool interrupted = false;
};

// Trains the runs into `out` (skipping finished ones), then writes experiment.csv, the comparison
// figures and index.html. A run that fails is recorded with its error and the others go on.
ExperimentOutcome run_experiment(const Experiment& experiment, const std::filesystem::path& out,
                                 bool quiet);

// experiment.csv, compare/ and index.html from the run directories in `out` as they are.
void write_experiment_summary(const Experiment& experiment, const std::filesystem::path& out,
                              const std::vector<std::string>& errors);

}  // namespace condense
