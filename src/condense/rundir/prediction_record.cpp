#include "condense/rundir/prediction_record.hpp"

#include <cmath>

#include <fmt/format.h>

#include "condense/core/atomic_file.hpp"
#include "condense/core/json_file.hpp"

namespace condense {

namespace {

// prediction.json nests 4 levels (time_scales.t_lin.formula); a little room for fields to come.
constexpr int kMaxDepth = 8;

// The origin of a nested object's fields in messages: "RUN/prediction.json (direction)".
std::string nested(const std::string& origin, const std::string& path) {
  return fmt::format("{} ({})", origin, path);
}

void read_time_scales(const nlohmann::json& scales, const std::string& origin,
                      PredictionRecord& record) {
  for (const char* scale : {"t_align_1e-2", "t_align_1e-3", "t_lin"}) {
    const nlohmann::json* entry = json_object(scales, scale, nested(origin, "time_scales"));
    if (!entry) continue;
    const auto steps = json_number(*entry, "steps", nested(origin, "time_scales." +
                                                                       std::string(scale)));
    if (steps && std::isfinite(*steps)) record.steps[scale] = *steps;
  }
}

}  // namespace

PredictionRecord parse_prediction_record(const std::string& text, const std::string& origin) {
  const nlohmann::json root = parse_json(text, origin, kMaxDepth);
  require_json_object(root, origin);
  PredictionRecord record;
  if (const nlohmann::json* model = json_object(root, "model", origin))
    record.model_description = json_string(*model, "description", nested(origin, "model"))
                                   .value_or("");
  if (const nlohmann::json* direction = json_object(root, "direction", origin)) {
    const std::string where = nested(origin, "direction");
    record.v1 = json_numbers(*direction, "v1", where).value_or(std::vector<double>{});
    record.v1_bias = json_number(*direction, "v1_bias", where);
  }
  if (const nlohmann::json* c = json_object(root, "correlation", origin)) {
    const std::string where = nested(origin, "correlation");
    record.correlation = PredictionRecord::Correlation{json_string(*c, "rows", where).value_or(""),
                                                       json_number(*c, "s1", where),
                                                       json_number(*c, "s2", where),
                                                       json_number(*c, "gap", where)};
  }
  if (const nlohmann::json* scales = json_object(root, "time_scales", origin))
    read_time_scales(*scales, origin, record);
  if (const nlohmann::json* a = json_object(root, "activation", origin)) {
    const std::string where = nested(origin, "activation");
    record.activation = PredictionRecord::Activation{json_string(*a, "name", where).value_or(""),
                                                     json_integer(*a, "multiplicity_p", where),
                                                     json_integer(*a, "orientations_2p", where)};
  }
  record.warnings = json_strings(root, "warnings", origin).value_or(std::vector<std::string>{});
  if (const nlohmann::json* scope = json_object(root, "scope", origin)) {
    const std::string where = nested(origin, "scope");
    record.scope_layer = json_string(*scope, "layer", where).value_or("");
    record.scope_network = json_string(*scope, "network", where).value_or("");
  }
  return record;
}

PredictionRecord read_prediction_record(const std::filesystem::path& file) {
  return parse_prediction_record(read_file(file), file.string());
}

}  // namespace condense
