#pragma once
// One run of a series (an experiment's run, a sweep's cell): the policy that decides, from what its
// directory holds, whether to keep it, resume it, train it or train it again, and the training
// itself with its error recorded. `condense run` and `condense sweep` (its local workers and its
// MPI ranks) share both, so a rerun of either behaves the same.
#include <filesystem>
#include <optional>
#include <string>

#include "condense/config/config.hpp"
#include "condense/rundir/summary.hpp"

namespace condense {

enum class RunAction {
  keep,     // finished (completed or diverged) with the same settings: a result, not retrained
  resume,   // the same settings and a checkpoint: continue it
  train,    // no run there yet
  retrain,  // a run of other settings (or one that never got a checkpoint): replace it
};

struct RunPlan {
  RunAction action = RunAction::train;
  std::optional<RunStatus> status;  // keep: how it finished
  std::string why;                  // in words, for the progress line
};

// What to do with the run directory `root` for `config` (the thread count does not count).
RunPlan plan_run(const std::filesystem::path& root, const RunConfig& config);

struct SeriesRunOptions {
  bool quiet = false;  // no progress output from the training
  bool report = true;  // the run's figures and report.html
  std::string label;   // when not empty, one line on stderr says what is done with the run:
                       // "condense: LABEL: resuming RUN"
};

struct SeriesRunResult {
  RunStatus status = RunStatus::completed;  // how training ended, when it ran
  bool failed = false;                      // it could not be trained: `error` says why
  std::string error;                        // failed, diverged or interrupted: why, for tables
  int exit_code() const;                    // 0, kExitDiverged, kExitInterrupted, kExitBadInput
};

// Trains `config` into `root` as plan_run says (resuming or retraining; a kept run is not
// touched). When `error_file` is given it holds the error afterwards, or is removed when the run
// completed. Never throws for a run that fails: the error is the result.
SeriesRunResult train_series_run(const std::filesystem::path& root, const RunConfig& config,
                                 const SeriesRunOptions& options,
                                 const std::filesystem::path& error_file = {});

// Why a run last failed, as train_series_run recorded it in `error_file` (without its line
// break), or "" when it has not failed.
std::string recorded_error(const std::filesystem::path& error_file);

}  // namespace condense
