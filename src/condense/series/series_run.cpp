#include "condense/series/series_run.hpp"

#include <fmt/format.h>

#include "condense/core/atomic_file.hpp"
#include "condense/core/exit_codes.hpp"
#include "condense/pipeline/train_run.hpp"
#include "condense/rundir/layout.hpp"
#include "condense/series/run_table.hpp"

namespace condense {

namespace fs = std::filesystem;

RunPlan plan_run(const fs::path& root, const RunConfig& config) {
  RunPlan plan;
  const RunDirectory run{root};
  std::error_code error;
  if (!fs::exists(run.config(), error)) {
    // Nothing of a run, or what a run that failed at once left: trained (again) from the start.
    if (is_run_directory(run)) {
      plan.action = RunAction::retrain;
      plan.why = "it stopped before writing its settings; training it again";
    } else {
      plan.action = RunAction::train;
      plan.why = "training";
    }
    return plan;
  }
  if (!same_settings(root, config)) {
    plan.action = RunAction::retrain;
    plan.why = "its settings changed; training it again";
    return plan;
  }
  plan.status = recorded_status(root);
  if (plan.status && *plan.status != RunStatus::interrupted) {
    plan.action = RunAction::keep;
    plan.why = fmt::format("{} already; kept", status_name(*plan.status));
  } else if (fs::exists(run.checkpoint(), error)) {
    plan.action = RunAction::resume;
    plan.why = "resuming from its checkpoint";
  } else {
    plan.action = RunAction::retrain;
    plan.why = "it stopped before its first checkpoint; training it again";
  }
  return plan;
}

int SeriesRunResult::exit_code() const {
  if (failed) return kExitBadInput;
  return exit_code_of(status);
}

SeriesRunResult train_series_run(const fs::path& root, const RunConfig& config,
                                 const SeriesRunOptions& options, const fs::path& error_file) {
  SeriesRunResult result;
  const RunPlan plan = plan_run(root, config);
  if (!options.label.empty())
    fmt::print(stderr, "condense: {}: {} ({})\n", options.label, plan.why, root.string());
  if (plan.action == RunAction::keep) {
    result.status = *plan.status;
  } else {
    TrainRequest request;
    request.root = root;
    request.quiet = options.quiet;
    request.report = options.report;
    request.resume = plan.action == RunAction::resume;
    request.overwrite = plan.action == RunAction::retrain;
    try {
      result.status = train_run(config, request);
    } catch (const std::exception& e) {
      result.failed = true;
      result.error = e.what();
    }
  }
  if (!result.failed && result.status == RunStatus::diverged)
    result.error = "diverged: the loss or a weight became NaN or Inf (summary.json)";
  if (!result.failed && result.status == RunStatus::interrupted)
    result.error = "interrupted; rerunning resumes it from its checkpoint";
  if (!error_file.empty()) {
    if (result.error.empty()) {
      std::error_code ignored;
      fs::remove(error_file, ignored);
    } else {
      make_directories(error_file.parent_path());
      write_file_atomic(error_file, result.error + "\n");
    }
  }
  return result;
}

std::string recorded_error(const fs::path& error_file) {
  std::string error;
  try {
    std::error_code ignored;
    if (fs::exists(error_file, ignored)) error = read_file(error_file);
  } catch (const std::exception&) {
  }
  while (!error.empty() && error.back() == '\n') error.pop_back();
  return error;
}

}  // namespace condense
