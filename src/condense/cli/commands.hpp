#pragma once
// The subcommands of the condense executable. Each registers itself on the CLI11 app and runs
// when chosen; errors propagate as exceptions and main() turns them into messages and exit codes.
#include <CLI/CLI.hpp>

namespace condense {

void add_train_command(CLI::App& app);
void add_config_command(CLI::App& app);
void add_predict_command(CLI::App& app);
void add_analyze_command(CLI::App& app);

// Exit codes: 0 success, 2 bad input or I/O failure, 3 training diverged, 130 interrupted.
inline constexpr int kExitBadInput = 2;
inline constexpr int kExitDiverged = 3;
inline constexpr int kExitInterrupted = 130;

// Thrown by a command to end the program with a given exit code after printing `what`.
struct CommandExit {
  int code;
};

}  // namespace condense
