// The sweep's runs on this machine (worker processes) and its table (series/sweep.hpp).
#include "condense/series/sweep.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "condense/core/atomic_file.hpp"
#include "condense/core/error.hpp"
#include "condense/core/exit_codes.hpp"
#include "condense/rundir/layout.hpp"
#include "condense/series/local_workers.hpp"
#include "condense/series/series_run.hpp"

namespace condense {

namespace fs = std::filesystem;

fs::path sweep_error_file(const fs::path& out, const std::string& name) {
  return out / "errors" / (name + ".txt");
}

fs::path sweep_job_file(const fs::path& out, const std::string& name) {
  return out / "jobs" / (name + ".toml");
}

bool sweep_run_done(const Sweep& sweep, std::size_t index, const fs::path& out) {
  const SweepRun& run = sweep.runs[index];
  return run.config && plan_run(out / run.name, *run.config).action == RunAction::keep;
}

SweepPlan plan_sweep(const Sweep& sweep, const fs::path& out, int shard, int shards) {
  SweepPlan plan;
  for (std::size_t i = 0; i < sweep.runs.size(); ++i) {
    if (int(i % std::size_t(shards)) != shard) continue;
    ++plan.runs;
    if (!sweep.runs[i].config) {
      plan.invalid.push_back(i);
      // Recorded like any failed run's error, for the table and for whoever reads errors/.
      make_directories(out / "errors");
      write_file_atomic(sweep_error_file(out, sweep.runs[i].name), sweep.runs[i].error + "\n");
    } else if (sweep_run_done(sweep, i, out)) {
      ++plan.kept;
    } else {
      plan.pending.push_back(i);
    }
  }
  return plan;
}

void print_plan(const Sweep& sweep, const SweepPlan& plan, const std::string& where,
                const std::string& how) {
  for (const auto& warning : sweep.warnings) fmt::print(stderr, "condense: warning: {}\n", warning);
  fmt::print(stderr,
             "condense: sweep \"{}\"{}: {} runs: {} finished already, {} with invalid "
             "settings, {} to train on {}\n",
             sweep.title, where, plan.runs, plan.kept, plan.invalid.size(), plan.pending.size(),
             how);
  for (std::size_t i : plan.invalid)
    fmt::print(stderr, "condense: {}: {}\n", sweep.runs[i].name, sweep.runs[i].error);
}

std::string write_sweep_job(const Sweep& sweep, std::size_t index, const fs::path& out) {
  const SweepRun& run = sweep.runs[index];
  const std::string text = to_toml(*run.config);
  make_directories(out / "jobs");
  write_file_atomic(sweep_job_file(out, run.name), text);
  return text;
}

int train_sweep_job(const fs::path& out, const std::string& name, const std::string& config_text,
                    const SweepJobOptions& options) {
  const fs::path errors = sweep_error_file(out, name);
  RunConfig config;
  try {
    config = load_config_text(config_text, sweep_job_file(out, name).string(), {});
  } catch (const std::exception& e) {
    make_directories(errors.parent_path());
    write_file_atomic(errors, std::string(e.what()) + "\n");
    return kExitBadInput;
  }
  if (options.threads > 0) config.threads = options.threads;
  SeriesRunOptions run;
  run.quiet = options.quiet;
  run.report = options.report;
  if (!options.quiet) run.label = name;
  return train_series_run(out / name, config, run, errors).exit_code();
}

SweepTable::SweepTable(const Sweep& sweep, fs::path out) : sweep_(sweep), out_(std::move(out)) {
  rows_.resize(sweep.runs.size());
  for (std::size_t i = 0; i < sweep.runs.size(); ++i) refresh(i);
}

void SweepTable::refresh(std::size_t index) {
  const SweepRun& run = sweep_.runs[index];
  RunRow row = {{"run", run.name}};
  for (std::size_t a = 0; a < sweep_.axes.size(); ++a)
    row.emplace_back(sweep_.axes[a].labelled ? sweep_.axes[a].name : sweep_.axes[a].key,
                     sweep_.axes[a].labels[run.value[a]]);
  const fs::path root = out_ / run.name;
  bool measured = false;
  if (run.config && fs::exists(RunDirectory{root}.config())) {
    try {
      const RunRow values = run_row(load_run(root));
      row.insert(row.end(), values.begin(), values.end());
      measured = true;
    } catch (const std::exception& e) {
      notes_.push_back(fmt::format("{}: {}", root.string(), e.what()));
    }
  }
  std::string error =
      run.error.empty() ? recorded_error(sweep_error_file(out_, run.name)) : run.error;
  if (!measured) row.emplace_back("status", error.empty() ? "not run" : "failed");
  // A run killed mid-way has no summary.json yet; its checkpoint says how far it got.
  for (auto& [column, value] : row)
    if (column == "status" && value == "unknown" && fs::exists(RunDirectory{root}.checkpoint()))
      value = "interrupted";
  if (measured && row_value(row, "status") == "completed") error.clear();
  row.emplace_back("error", error);
  rows_[index] = std::move(row);
}

void SweepTable::write() const {
  std::vector<std::string> columns = row_columns(rows_);
  columns.erase(std::find(columns.begin(), columns.end(), "error"));
  columns.push_back("error");
  write_file_atomic(out_ / "sweep.csv", rows_csv(columns, rows_));
}

SweepOutcome run_sweep_local(const Sweep& sweep, const fs::path& out,
                             const SweepSchedule& schedule) {
  make_directories(out / "logs");
  SweepOutcome outcome;
  const SweepPlan plan = plan_sweep(sweep, out, schedule.shard, schedule.shards);
  const std::vector<std::size_t>& pending = plan.pending;
  outcome.kept = plan.kept;
  outcome.failed = int(plan.invalid.size());

  const int cores = available_cores();
  int workers = schedule.workers > 0   ? schedule.workers
                : schedule.threads > 0 ? std::max(1, cores / schedule.threads)
                                       : cores;
  workers = std::max(1, std::min<int>(workers, int(pending.size())));
  const int threads = schedule.threads > 0 ? schedule.threads : std::max(1, cores / workers);
  if (!schedule.quiet)
    print_plan(
        sweep, plan,
        schedule.shards > 1 ? fmt::format(" in shard {}/{}", schedule.shard, schedule.shards) : "",
        fmt::format("{} worker{} × {} thread{}", workers, workers == 1 ? "" : "s", threads,
                    threads == 1 ? "" : "s"));
  std::optional<SweepTable> table;
  if (schedule.shards == 1) {
    table.emplace(sweep, out);
    table->write();
  }

  // Each worker trains the resolved config the sweep wrote for it, so editing the sweep file
  // while it runs changes nothing of this sweep.
  auto command = [&](std::size_t job) {
    const SweepRun& run = sweep.runs[pending[job]];
    write_sweep_job(sweep, pending[job], out);
    WorkerCommand c;
    c.arguments = {"sweep-job", out.string(), run.name, "--threads", std::to_string(threads)};
    if (!sweep.run_reports) c.arguments.push_back("--no-report");
    c.log = out / "logs" / (run.name + ".log");
    return c;
  };
  std::size_t finished = 0;
  auto on_finished = [&](std::size_t job, const WorkerExit& exit) {
    const SweepRun& run = sweep.runs[pending[job]];
    ++finished;
    std::string what;
    if (exit.signal != 0) {
      what = fmt::format(
          "its worker was killed by signal {} ({}); rerunning the sweep resumes it "
          "from its last checkpoint",
          exit.signal, strsignal(exit.signal));
      make_directories(out / "errors");
      write_file_atomic(sweep_error_file(out, run.name), what + "\n");
      ++outcome.failed;
    } else if (exit.exit_code == 0) {
      what = "completed";
      ++outcome.trained;
    } else {
      if (exit.exit_code == kExitInterrupted) outcome.interrupted = true;
      ++(exit.exit_code == kExitDiverged ? outcome.diverged : outcome.failed);
      what = recorded_error(sweep_error_file(out, run.name));
      if (what.empty())
        what = fmt::format("its worker exited with code {}; see {}", exit.exit_code,
                           (out / "logs" / (run.name + ".log")).string());
    }
    if (!schedule.quiet)
      fmt::print(stderr, "condense: [{}/{}] {}: {} ({:.1f} s)\n", finished, pending.size(),
                 run.name, what, exit.seconds);
    if (table) {
      table->refresh(pending[job]);
      table->write();
    }
  };
  auto on_stop = [&](std::size_t running) {
    if (!schedule.quiet)
      fmt::print(stderr, "condense: stopping the sweep: the {} running run{} save{} a checkpoint\n",
                 running, running == 1 ? "" : "s", running == 1 ? "s" : "");
  };
  if (run_workers(pending.size(), workers, command, on_finished, on_stop))
    outcome.interrupted = true;
  if (table) write_sweep_summary(sweep, *table, schedule.quiet);
  return outcome;
}

}  // namespace condense
