#include "condense/series/toml_input.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

#include "condense/core/atomic_file.hpp"
#include "condense/core/error.hpp"

namespace condense {

namespace fs = std::filesystem;

TomlFile read_toml_file(const fs::path& file) {
  TomlFile parsed;
  try {
    parsed.text = read_file(file);
  } catch (const IoError& e) {
    fail_input("{}", e.what());
  }
  try {
    parsed.table = toml::parse(parsed.text, file.string());
  } catch (const toml::parse_error& e) {
    fail_input("{}:{}:{}: {}", file.string(), e.source().begin.line, e.source().begin.column,
               e.description());
  }
  return parsed;
}

std::string where(const fs::path& file, const toml::node& node) {
  return fmt::format("{}:{}", file.string(), node.source().begin.line);
}

void check_keys(const fs::path& file, const toml::table& table, const std::string& what,
                const std::vector<std::string>& allowed) {
  for (const auto& [key, node] : table)
    if (std::find(allowed.begin(), allowed.end(), std::string(key.str())) == allowed.end())
      fail_input("{}: unknown key {} in {}; expected {}", where(file, node), key.str(), what,
                 fmt::join(allowed, ", "));
}

std::optional<std::string> optional_string(const fs::path& file, const toml::table& table,
                                           const std::string& key, const std::string& what) {
  const toml::node* node = table.get(key);
  if (!node) return std::nullopt;
  if (!node->is_string()) fail_input("{}: {}.{} must be a string", where(file, *node), what, key);
  return std::string(*node->value<std::string>());
}

}  // namespace condense
