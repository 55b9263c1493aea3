#pragma once
// RUN/summary.json: how a run ended (docs/run-directory.md). Written by training at its end (and
// when it is interrupted or diverges); read by reports and by the tables of experiments and
// sweeps, every field type-checked.
#include <filesystem>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace condense {

enum class RunStatus { completed, interrupted, diverged };

const char* status_name(RunStatus status);  // "completed", "interrupted", "diverged"

struct RunSummary {
  RunStatus status = RunStatus::completed;
  std::string message;  // why it stopped, when it did not complete
  std::optional<long> steps, total_steps, parameters;
  std::optional<double> training_seconds;
  std::string data, dtype;
  nlohmann::json json;  // the whole file, for fields only some readers need
};

// Reads summary.json. A file that is not a JSON object, a status other than the three, or a field
// of the wrong type is an InputError naming the file and the field.
RunSummary read_summary(const std::filesystem::path& path);

// The status recorded in RUN/summary.json, or std::nullopt when the run has none (it never
// finished, or the file is damaged: a run to train again).
std::optional<RunStatus> recorded_status(const std::filesystem::path& root);

}  // namespace condense
