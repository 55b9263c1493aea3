#include "condense/rundir/summary.hpp"

#include <fmt/format.h>

#include "condense/core/error.hpp"
#include "condense/core/json_file.hpp"

namespace condense {

const char* status_name(RunStatus status) {
  switch (status) {
    case RunStatus::completed: return "completed";
    case RunStatus::interrupted: return "interrupted";
    case RunStatus::diverged: return "diverged";
  }
  return "completed";
}

RunSummary read_summary(const std::filesystem::path& path) {
  const std::string origin = path.string();
  RunSummary summary;
  summary.json = read_json_file(path);
  require_json_object(summary.json, origin);
  const std::optional<std::string> status = json_string(summary.json, "status", origin);
  if (!status) fail_input("{}: no \"status\"", origin);
  bool known = false;
  for (RunStatus s : {RunStatus::completed, RunStatus::interrupted, RunStatus::diverged})
    if (*status == status_name(s)) summary.status = s, known = true;
  if (!known)
    fail_input("{}: \"status\" is \"{}\", expected \"completed\", \"interrupted\" or "
               "\"diverged\"",
               origin, status->substr(0, 80));
  summary.message = json_string(summary.json, "message", origin).value_or("");
  summary.steps = json_integer(summary.json, "steps", origin);
  summary.total_steps = json_integer(summary.json, "total_steps", origin);
  summary.parameters = json_integer(summary.json, "parameters", origin);
  summary.training_seconds = json_number(summary.json, "training_seconds", origin);
  summary.data = json_string(summary.json, "data", origin).value_or("");
  summary.dtype = json_string(summary.json, "dtype", origin).value_or("");
  return summary;
}

std::optional<RunStatus> recorded_status(const std::filesystem::path& root) {
  std::error_code error;
  const std::filesystem::path path = root / "summary.json";
  if (!std::filesystem::exists(path, error)) return std::nullopt;
  try {
    return read_summary(path).status;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

}  // namespace condense
