#pragma once
// RUN/summary.json: how a run ended (docs/run-directory.md). Written by training at its end (and
// when it is interrupted or diverges); read by reports and by the tables of experiments and
// sweeps, every field type-checked.
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace condense {

// failed: a run trained outside condense whose training stopped on an error (the message says
// which); condense's own training ends completed, interrupted or diverged.
enum class RunStatus { completed, interrupted, diverged, failed };

const char* status_name(RunStatus status);  // "completed", "interrupted", "diverged", "failed"

// The final metrics (NaN where not measured: null in the file).
struct FinalMetrics {
  long step = 0;
  double train_loss = 0, train_acc = 0, test_loss = 0, test_acc = 0;
};

// The machine and build a run was trained with: what makes results reproducible or not.
struct RunProvenance {
  std::string condense_version, compiler, eigen_version;
  std::string build_flags;  // the flags that change floating-point results (-march, contraction)
  std::string hostname, cpu;
  int threads = 0;
  std::string finished_at;  // UTC, ISO 8601
};

struct RunSummary {
  RunStatus status = RunStatus::completed;
  std::string message;  // why it stopped, when it did not complete
  std::optional<long> steps, total_steps, parameters;
  std::optional<double> training_seconds;
  std::string data, dtype;
  std::string
      model;  // what the model is, when no prediction describes it (a run trained elsewhere)
  // Written by training; read back into `json` only.
  std::string config_hash;
  RunProvenance provenance;
  double analysis_seconds = 0, wall_seconds = 0;
  FinalMetrics final;
  nlohmann::json json;  // the whole file as read, for fields only some readers need
};

// Writes RUN/summary.json (atomically).
void write_summary(const std::filesystem::path& path, const RunSummary& summary);

// Reads summary.json. A file that is not a JSON object, a status other than the four, or a field
// of the wrong type is an InputError naming the file and the field.
RunSummary read_summary(const std::filesystem::path& path);

// The status recorded in RUN/summary.json, or std::nullopt when the run has none (it never
// finished, or the file is damaged: a run to train again).
std::optional<RunStatus> recorded_status(const std::filesystem::path& root);

}  // namespace condense
