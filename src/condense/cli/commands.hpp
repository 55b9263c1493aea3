#pragma once
// The subcommands of the condense executable. Each registers itself on the CLI11 app and runs
// when chosen; errors propagate as exceptions and main() turns them into messages and exit codes.
#include <CLI/CLI.hpp>
#include <filesystem>

#include "condense/core/exit_codes.hpp"

namespace condense {

void add_train_command(CLI::App& app);
void add_config_command(CLI::App& app);
void add_predict_command(CLI::App& app);
void add_analyze_command(CLI::App& app);
void add_report_command(CLI::App& app);
void add_compare_command(CLI::App& app);
void add_run_command(CLI::App& app);
void add_sweep_command(CLI::App& app);
void add_sweep_job_command(CLI::App& app);

// Thrown by a command to end the program with a given exit code after printing `what`.
struct CommandExit {
  int code;
};

}  // namespace condense
