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
// InputError listing every mistake of the config, one per line, each naming the file and line (or
// the --set argument), the key, what was expected and what was found; a TOML syntax error stops
// at the first.
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

// A config and its warnings: "<where>: <key> has no effect: <why>" for each key set (in the file
// or by an assignment) to a value other than its default that does not apply to this run, such as
// data.sin_dim on fashion-mnist or train.betas with sgd. Warnings do not change the config.
struct LoadedConfig {
  RunConfig config;
  std::vector<std::string> warnings;
  // "<where>: <key>" of every value set other than a default, also those replaced by a later
  // assignment: what the run is made of (for series_warnings).
  std::vector<std::string> changed;
};
LoadedConfig load_config_and_warnings(const std::filesystem::path& path,
                                      const std::vector<std::string>& overrides);
LoadedConfig load_config_text_and_warnings(const std::string& text, const std::string& origin,
                                           const std::vector<std::string>& skip_tables,
                                           const std::vector<ConfigAssignment>& assignments,
                                           const std::vector<std::string>& overrides);
// A run directory's config.toml (resume) and overrides. Its keys, every one written out, were
// checked when the run began: only the overrides can warn.
LoadedConfig load_run_config_and_warnings(const std::string& text, const std::string& origin,
                                          const std::vector<std::string>& overrides);

// The warnings of a series of runs read from one file (an experiment, a sweep), each once. A
// setting shared by several runs warns only if it has no effect on every one of them, counting
// the runs that replace it with their own: a sweep over optimizers may set train.momentum for its
// sgd runs, an experiment a base init.std that some runs change.
std::vector<std::string> series_warnings(const std::vector<LoadedConfig>& runs);

// Throws InputError "<origin>: unknown key <key> (did you mean ...?)" unless `key` can be set.
void check_config_key(const std::string& key, const std::string& origin);

// The fully resolved config, every key written out: enough to rerun exactly. Numbers are written
// in the shortest form that reads back to the same value (lr = 0.05).
std::string to_toml(const RunConfig& config);

// Markdown table of every key (docs/config.md is generated from it).
std::string config_reference_markdown();

}  // namespace condense
