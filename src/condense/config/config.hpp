#pragma once
// The run configuration: parsed once from TOML (plus --set overrides) into typed, validated
// structs. Nothing below this module sees TOML. Every key, its default and a one-line description
// are listed once, in keys.cpp; `condense config` and docs/config.md print that list.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "condense/core/types.hpp"
#include "condense/data/dataset.hpp"
#include "condense/nn/init.hpp"
#include "condense/nn/model_spec.hpp"
#include "condense/train/loss.hpp"
#include "condense/train/optimizer.hpp"
#include "condense/train/trainer.hpp"

namespace condense {

struct RunConfig {
  std::uint64_t seed = 0;
  Dtype dtype = Dtype::float64;
  int threads = 0;  // 0 = every core
  DataSpec data;
  ModelSpec model;  // input shape and outputs (when 0) are filled in from the data
  InitConfig init;
  TrainConfig train;
  TrackConfig track;
};

struct KeyDoc {
  std::string key;            // dotted: "train.lr"
  std::string default_value;  // as TOML
  std::string description;
};
const std::vector<KeyDoc>& config_keys();

// Reads `path` (empty: defaults only) and applies "key=value" overrides in order. Throws
// InputError naming the file and line (or the --set argument), the key and what was expected.
RunConfig load_config(const std::filesystem::path& path, const std::vector<std::string>& overrides);

// Reads the config saved in a run directory and applies overrides (resume).
RunConfig load_config_text(const std::string& text, const std::string& origin,
                           const std::vector<std::string>& overrides);

// A "key=value" setting from somewhere other than the command line; `origin` names it in errors
// (e.g. "exp.toml:40 (run relu)").
struct ConfigAssignment {
  std::string assignment;
  std::string origin;
};

// As above, for a file that also holds top-level tables other modules read (`skip_tables`, e.g.
// an experiment's [experiment]); `assignments` apply after the file and before `overrides`.
RunConfig load_config_text(const std::string& text, const std::string& origin,
                           const std::vector<std::string>& skip_tables,
                           const std::vector<ConfigAssignment>& assignments,
                           const std::vector<std::string>& overrides);

// Throws InputError "<origin>: unknown key <key> (did you mean ...?)" unless `key` can be set.
void check_config_key(const std::string& key, const std::string& origin);

// The fully resolved config, every key written out: enough to rerun exactly.
std::string to_toml(const RunConfig& config);

// Markdown table of every key (docs/config.md is generated from it).
std::string config_reference_markdown();

}  // namespace condense
