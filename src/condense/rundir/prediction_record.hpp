#pragma once
// RUN/prediction.json as the readers of a run directory see it (the report, the alignment measured
// at each snapshot). theory/prediction.cpp writes it and docs/theory.md lists its fields; a reader
// treats it as hostile all the same (runs are copied and edited by hand): the nesting is bounded
// before parsing, and every field is read through core/json_file's typed accessors, so a field of
// the wrong type is an InputError naming the file and the field, never a crash. Absent fields stay
// empty: each reader says what it cannot show without them.
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace condense {

struct PredictionRecord {
  std::string model_description;  // model.description
  std::vector<double> v1;         // direction.v1: the whole direction, weights then bias
  std::optional<double> v1_bias;  // direction.v1_bias; null when the first layer has no bias

  struct Correlation {
    std::string rows;  // how Z's rows are stacked
    std::optional<double> s1, s2, gap;
  };
  std::optional<Correlation> correlation;

  // time_scales.<scale>.steps of "t_align_1e-2", "t_align_1e-3" and "t_lin", when finite.
  std::map<std::string, double> steps;

  struct Activation {
    std::string name;
    std::optional<long> multiplicity;  // p; null at a kink
    std::optional<long> orientations;  // 2p
  };
  std::optional<Activation> activation;

  std::vector<std::string> warnings;
  // scope.layer and scope.network: a network deeper than the theory's two layers, measured against
  // the two-layer prediction for its first layer. Empty for the theory's own network.
  std::string scope_layer, scope_network;
};

// Parses prediction.json text read from `origin` (named in errors).
PredictionRecord parse_prediction_record(const std::string& text, const std::string& origin);
PredictionRecord read_prediction_record(const std::filesystem::path& file);

}  // namespace condense
