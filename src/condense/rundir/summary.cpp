#include "condense/rundir/summary.hpp"

#include <fmt/format.h>

#include <cmath>

#include "condense/core/atomic_file.hpp"
#include "condense/core/error.hpp"
#include "condense/core/json_file.hpp"
#include "condense/rundir/layout.hpp"

namespace condense {

const char* status_name(RunStatus status) {
  switch (status) {
    case RunStatus::completed:
      return "completed";
    case RunStatus::interrupted:
      return "interrupted";
    case RunStatus::diverged:
      return "diverged";
    case RunStatus::failed:
      return "failed";
  }
  return "completed";
}

void write_summary(const std::filesystem::path& path, const RunSummary& s) {
  auto metric = [](double v) {
    return std::isnan(v) ? nlohmann::json(nullptr) : nlohmann::json(v);
  };
  auto optional = [](const auto& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); };
  const RunProvenance& p = s.provenance;
  nlohmann::json j;
  j["status"] = status_name(s.status);
  j["message"] = s.message;
  j["config_hash"] = s.config_hash;
  j["condense_version"] = p.condense_version;
  j["compiler"] = p.compiler;
  j["eigen_version"] = p.eigen_version;
  j["build_flags"] = p.build_flags;
  j["machine"] = {{"hostname", p.hostname}, {"cpu", p.cpu}, {"threads", p.threads}};
  j["finished_at"] = p.finished_at;
  j["dtype"] = s.dtype;
  j["steps"] = optional(s.steps);
  j["total_steps"] = optional(s.total_steps);
  j["training_seconds"] = optional(s.training_seconds);
  j["analysis_seconds"] = s.analysis_seconds;
  j["wall_seconds"] = s.wall_seconds;
  j["parameters"] = optional(s.parameters);
  j["data"] = s.data;
  if (!s.model.empty()) j["model"] = s.model;
  j["final"] = {{"step", s.final.step},
                {"train_loss", metric(s.final.train_loss)},
                {"train_acc", metric(s.final.train_acc)},
                {"test_loss", metric(s.final.test_loss)},
                {"test_acc", metric(s.final.test_acc)}};
  write_file_atomic(path, j.dump(2) + "\n");
}

RunSummary read_summary(const std::filesystem::path& path) {
  const std::string origin = path.string();
  RunSummary summary;
  summary.json = read_json_file(path);
  require_json_object(summary.json, origin);
  const std::optional<std::string> status = json_string(summary.json, "status", origin);
  if (!status) fail_input("{}: no \"status\"", origin);
  bool known = false;
  for (RunStatus s :
       {RunStatus::completed, RunStatus::interrupted, RunStatus::diverged, RunStatus::failed})
    if (*status == status_name(s)) summary.status = s, known = true;
  if (!known)
    fail_input(
        "{}: \"status\" is \"{}\", expected \"completed\", \"interrupted\", \"diverged\" "
        "or \"failed\"",
        origin, status->substr(0, 80));
  summary.message = json_string(summary.json, "message", origin).value_or("");
  summary.steps = json_integer(summary.json, "steps", origin);
  summary.total_steps = json_integer(summary.json, "total_steps", origin);
  summary.parameters = json_integer(summary.json, "parameters", origin);
  summary.training_seconds = json_number(summary.json, "training_seconds", origin);
  summary.data = json_string(summary.json, "data", origin).value_or("");
  summary.dtype = json_string(summary.json, "dtype", origin).value_or("");
  summary.model = json_string(summary.json, "model", origin).value_or("");
  return summary;
}

std::optional<RunStatus> recorded_status(const std::filesystem::path& root) {
  std::error_code error;
  const std::filesystem::path path = RunDirectory{root}.summary();
  if (!std::filesystem::exists(path, error)) return std::nullopt;
  try {
    return read_summary(path).status;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

}  // namespace condense
