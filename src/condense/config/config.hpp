#pragma once
// The run configuration: parsed once from TOML (plus --set overrides) into typed, validated
// structs. Nothing below this module sees TOML. Every key, its default and a one-line description
// are listed once, in keys.cpp; `condense config` and docs/config.md print that list.
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
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

// A run trained outside condense (the Python package's tracker and checkpoint import write these;
// docs/run-directory.md): what trained it, as its config.toml's [external] table records it.
// condense reads, measures and reports such a run but cannot train it.
struct ExternalParameter {
  std::string name;  // "layer1.0.conv1.weight"
  std::vector<std::int64_t> shape;
};
struct ExternalTraining {
  std::string trained_with;                            // "pytorch"; empty: condense trained the run
  std::string version;                                 // of what trained it
  std::string model_class, model;                      // the model's class and its text (repr)
  std::vector<ExternalParameter> parameters;           // names and shapes, in the model's order
  std::string optimizer_class;                         // "SGD", "Adam", ...
  nlohmann::json optimizer = nlohmann::json::array();  // settings of each parameter group
  std::string description;                             // free text

  bool given() const { return !trained_with.empty(); }
};

struct RunConfig {
  std::uint64_t seed = 0;
  Dtype dtype = Dtype::float64;
  int threads = 0;  // 0 = every core
  DataSpec data;
  ModelSpec model;  // input shape and outputs (when 0) are filled in from the data
  InitConfig init;
  TrainConfig train;
  TrackConfig track;
  // Set for a run trained outside condense: its config.toml has an [external] table and [track]
  // settings only, and every other field keeps its default.
  ExternalTraining external;
};

// What `condense train` says of such a run: "<what> was trained outside condense (PyTorch);
// condense cannot train it; condense report, condense analyze and condense compare read it".
std::string external_training_refusal(const ExternalTraining& external, const std::string& what);

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
