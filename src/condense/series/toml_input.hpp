#pragma once
// Reading the TOML files of series of runs (experiment and sweep files): parse errors and every
// malformed entry name the file and line.
#include <toml++/toml.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace condense {

struct TomlFile {
  std::string text;  // as read, for the run configs it also holds
  toml::table table;
};

// Reads and parses `file`; throws InputError "<file>:<line>:<column>: <what>" on bad TOML and
// for a file that cannot be read.
TomlFile read_toml_file(const std::filesystem::path& file);

// "<file>:<line>" of a node.
std::string where(const std::filesystem::path& file, const toml::node& node);

// Throws InputError naming the first key of `table` not in `allowed`, and what was expected.
void check_keys(const std::filesystem::path& file, const toml::table& table,
                const std::string& what, const std::vector<std::string>& allowed);

// The string at `key`, if present; throws InputError if it is there but not a string.
std::optional<std::string> optional_string(const std::filesystem::path& file,
                                           const toml::table& table, const std::string& key,
                                           const std::string& what);

}  // namespace condense
