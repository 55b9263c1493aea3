#pragma once
// The subcommands of the condense executable. Each registers itself on the CLI11 app and runs
// when chosen; errors propagate as exceptions and main() turns them into messages and exit codes.
#include <CLI/CLI.hpp>

#include <filesystem>

namespace condense {

void add_train_command(CLI::App& app);
void add_config_command(CLI::App& app);
void add_predict_command(CLI::App& app);
void add_analyze_command(CLI::App& app);
void add_report_command(CLI::App& app);
void add_compare_command(CLI::App& app);
void add_run_command(CLI::App& app);
void add_sweep_command(CLI::App& app);

// Exit codes (docs/exit-codes.md): 0 success, 1 internal error, 2 bad input or I/O failure,
// 3 training diverged or a run failed, 130 interrupted.
inline constexpr int kExitInternal = 1;
inline constexpr int kExitBadInput = 2;
inline constexpr int kExitDiverged = 3;
inline constexpr int kExitInterrupted = 130;

// Thrown by a command to end the program with a given exit code after printing `what`.
struct CommandExit {
  int code;
};

struct RunConfig;
// How `train_config` trains a resolved config (condense train, condense run).
struct TrainRequest {
  std::filesystem::path root;  // the run directory
  bool resume = false;         // continue `root` from its checkpoint
  bool overwrite = false;      // replace an existing run directory
  bool quiet = false;          // no progress output
  bool report = true;          // figures and report.html at the end
  bool dry_run = false;        // print the model and the estimates; write nothing
  bool memory_check = true;    // refuse a run whose memory estimate exceeds what is available
};
// Trains `config` into request.root (writing its config.toml, metrics, snapshots, analysis,
// summary.json and report); returns 0, kExitDiverged or kExitInterrupted. Throws InputError or
// IoError for bad input, before anything is written where it can be found then: settings a resume
// may not change (pipeline/resume_policy.hpp), a batch larger than the data, a run that does not
// fit the available memory (pipeline/run_estimate.hpp).
int train_config(const RunConfig& config, const TrainRequest& request);

struct ReportOptions;
// Writes RUN/figures and RUN/report.html, printing notes; returns the exit code (2 when figures
// could not be drawn, after the page was written).
int run_report(const std::filesystem::path& run, const ReportOptions& options, bool quiet);

}  // namespace condense
