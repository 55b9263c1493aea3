#pragma once
// The settings of one config before conversion (internal to config/): every key's default from
// keys.cpp, then a file, then "key=value" assignments. Each value remembers where it came from
// and the text it was read from, so that messages show it as the user wrote it. Mistakes are
// collected rather than thrown, so that one message lists every mistake of a config.
#include <toml++/toml.h>

#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "condense/config/config.hpp"

namespace condense::config_detail {

class Settings {
 public:
  Settings();  // every key at its default

  // Parses `text` (throws InputError "<file>:<line>:<column>: ..." for bad TOML: nothing after a
  // syntax error can be trusted) and merges it; top-level tables in `skip` belong to other
  // modules (an experiment's [experiment]).
  void merge_file(const std::string& text, const std::string& file,
                  const std::vector<std::string>& skip);
  // A "key=value" assignment; `origin` names it in messages (empty: "--set <assignment>").
  void assign(const std::string& assignment, const std::string& origin = "");

  // The merged file as parsed (nullptr before merge_file): for the tables other readers take,
  // such as [external].
  const toml::table* file_table() const { return file_table_; }
  const std::string& file_name() const { return file_; }

  const toml::node* find(const std::string& key) const;
  // "<file>:<line>", "--set key=value", ... or "default".
  std::string where(const std::string& key) const;
  // Where `part` (key's value or an element of it) was written: its own line in a file.
  std::string where(const std::string& key, const toml::node& part) const;
  // `part` as the user wrote it when its text is at hand, else in its shortest exact form.
  std::string written(const std::string& key, const toml::node& part) const;
  std::string written(const std::string& key) const;
  // Set in a file or by an assignment to a value other than its default.
  bool changed(const std::string& key) const;
  // Set in a file or by an assignment (possibly to its default).
  bool given(const std::string& key) const;
  // Its value comes from the file (not from an assignment, not a default).
  bool from_file(const std::string& key) const;
  // Both keys hold the same value (numbers compare as numbers: 1 and 1.0 are the same).
  bool same(const std::string& a, const std::string& b) const;
  // "<where>: <key>" of every value set other than a default, including those a later
  // assignment replaced: the settings a run is made of.
  const std::vector<std::string>& changed_keys() const { return history_; }
  // The keys that start with `prefix`, in order.
  std::vector<std::string> keys_under(const std::string& prefix) const;

  // Typed reads. A missing or mistyped value is recorded as an error, and the key's default is
  // returned so that the checks after it go on.
  double number(const std::string& key);
  std::int64_t integer(const std::string& key);
  bool boolean(const std::string& key);
  std::string text(const std::string& key);
  std::vector<std::int64_t> integers(const std::string& key);
  std::vector<double> numbers(const std::string& key);
  // The key's default value (for a per-layer init key, that of the [init] key).
  const toml::node& default_value(const std::string& key) const;

  // Records "<where>: <key> must be <expected>, got <value as written>".
  void wrong(const std::string& key, const std::string& expected);
  // Records "<origin>: <message>" and marks `key` (if not empty) as failed.
  void error(const std::string& key, const std::string& origin, const std::string& message);
  // No error was recorded for any of `keys`: checks that combine them are meaningful.
  bool ok(std::initializer_list<std::string> keys) const;
  bool ok(const std::string& key) const { return ok({key}); }
  std::size_t error_count() const { return errors_.size(); }
  // Every error, those of the file in the order of its lines first, then the assignments'.
  std::vector<std::string> errors() const;

  // Throws InputError unless `key` can be set; the message names `origin`.
  void check_key(const std::string& key, const std::string& origin);

 private:
  struct Document {
    std::string text;
    toml::table table;
  };
  struct Value {
    const toml::node* node = nullptr;
    const Document* document = nullptr;  // the text `node` was parsed from
    std::string origin;
    std::string file;  // the file `node` is in ("" for assignments): its parts name their lines
    bool given = false;
  };
  struct Problem {
    // The order of the messages: the file's by line, then the assignments' in their order.
    int group;
    long position;
    std::string text;
  };

  const Document& keep(std::unique_ptr<Document> document);
  bool check_known(const std::string& key, const std::string& origin);
  void set(const std::string& key, const toml::node& node, const Document& document,
           const std::string& origin, const std::string& file);
  void set_layer_overrides(const toml::node& node, const Document& document,
                           const std::string& origin, const std::string& file);
  void merge_table(const toml::table& table, const std::string& prefix, const Document& document,
                   const std::string& file, const std::vector<std::string>& skip);
  const Value* value_of(const std::string& key) const;

  std::vector<std::unique_ptr<Document>> documents_;  // owned; values point into them
  std::map<std::string, Value> defaults_, values_;
  std::string file_;  // the merged file, to order its errors by line
  const toml::table* file_table_ = nullptr;
  std::vector<std::string> assignment_origins_;  // to order their errors as given
  std::vector<Problem> errors_;
  std::vector<std::string> failed_;  // keys with an error
  std::vector<std::string> history_;
};

// " (did you mean <the nearest candidate>?)", or "" when none is near.
std::string did_you_mean(const std::string& key, const std::vector<std::string>& candidates);

// What a warning says between the key and why: "<where>: <key> has no effect: <why>".
inline constexpr const char* kNoEffect = " has no effect: ";

// Reads the [external] table of the merged file (external.cpp; docs/config.md) into `external`,
// recording every mistake in `settings`; with an [external] table, a key the file sets outside
// [track] is a mistake too.
void read_external(Settings& settings, ExternalTraining& external);

// The checks that combine keys after conversion (applicability.cpp). Errors go to `settings`;
// the keys set that have no effect on this run are returned as warnings, those of the file only
// if `warn_file_keys`.
std::vector<std::string> check_combinations(Settings& settings, const RunConfig& config,
                                            bool warn_file_keys);

}  // namespace condense::config_detail
