#include "condense/core/json_file.hpp"

#include <limits>

#include <fmt/format.h>

#include "condense/core/atomic_file.hpp"
#include "condense/core/error.hpp"

namespace condense {

namespace {

// A value for a message, cut short: a field may hold megabytes.
std::string excerpt(const nlohmann::json& value) {
  std::string text = value.dump();
  if (text.size() > 80) text = text.substr(0, 77) + "...";
  return text;
}

const nlohmann::json* field(const nlohmann::json& object, const std::string& key) {
  if (!object.is_object()) return nullptr;
  const auto it = object.find(key);
  return it == object.end() || it->is_null() ? nullptr : &*it;
}

[[noreturn]] void wrong(const nlohmann::json& value, const std::string& key,
                        const std::string& origin, const char* expected) {
  fail_input("{}: \"{}\" is {}, expected {}", origin, key, excerpt(value), expected);
}

}  // namespace

std::size_t json_nesting_beyond(std::string_view text, int limit) {
  int depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > limit) return i;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return std::string_view::npos;
}

nlohmann::json parse_json(std::string_view text, const std::string& origin, int max_depth) {
  if (const std::size_t at = json_nesting_beyond(text, max_depth); at != std::string_view::npos)
    fail_input("{}: the JSON nests more than {} levels deep (at byte {})", origin, max_depth, at);
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {  // parse_error, or out_of_range (1e999)
    fail_input("{}: not valid JSON ({})", origin, e.what());
  }
}

nlohmann::json read_json_file(const std::filesystem::path& path, int max_depth) {
  return parse_json(read_file(path), path.string(), max_depth);
}

std::optional<std::string> json_string(const nlohmann::json& object, const std::string& key,
                                       const std::string& origin) {
  const nlohmann::json* value = field(object, key);
  if (!value) return std::nullopt;
  if (!value->is_string()) wrong(*value, key, origin, "a string");
  return value->get<std::string>();
}

std::optional<double> json_number(const nlohmann::json& object, const std::string& key,
                                  const std::string& origin) {
  const nlohmann::json* value = field(object, key);
  if (!value) return std::nullopt;
  if (!value->is_number()) wrong(*value, key, origin, "a number");
  return value->get<double>();
}

std::optional<long> json_integer(const nlohmann::json& object, const std::string& key,
                                 const std::string& origin) {
  const nlohmann::json* value = field(object, key);
  if (!value) return std::nullopt;
  // An unsigned number beyond long's range would wrap to a negative one.
  if (!value->is_number_integer() ||
      (value->is_number_unsigned() &&
       value->get<std::uint64_t>() > std::uint64_t(std::numeric_limits<long>::max())))
    wrong(*value, key, origin, "an integer below 2^63");
  return value->get<long>();
}

const nlohmann::json* json_object(const nlohmann::json& object, const std::string& key,
                                  const std::string& origin) {
  const nlohmann::json* value = field(object, key);
  if (value && !value->is_object()) wrong(*value, key, origin, "a JSON object");
  return value;
}

std::optional<std::vector<double>> json_numbers(const nlohmann::json& object, const std::string& key,
                                                const std::string& origin) {
  const nlohmann::json* value = field(object, key);
  if (!value) return std::nullopt;
  if (!value->is_array()) wrong(*value, key, origin, "an array of numbers");
  std::vector<double> numbers;
  numbers.reserve(value->size());
  for (const nlohmann::json& item : *value) {
    if (!item.is_number()) wrong(*value, key, origin, "an array of numbers");
    numbers.push_back(item.get<double>());
  }
  return numbers;
}

std::optional<std::vector<std::string>> json_strings(const nlohmann::json& object,
                                                     const std::string& key,
                                                     const std::string& origin) {
  const nlohmann::json* value = field(object, key);
  if (!value) return std::nullopt;
  if (!value->is_array()) wrong(*value, key, origin, "an array of strings");
  std::vector<std::string> strings;
  strings.reserve(value->size());
  for (const nlohmann::json& item : *value) {
    if (!item.is_string()) wrong(*value, key, origin, "an array of strings");
    strings.push_back(item.get<std::string>());
  }
  return strings;
}

void require_json_object(const nlohmann::json& value, const std::string& origin) {
  if (!value.is_object())
    fail_input("{} is {}, expected a JSON object", origin, excerpt(value));
}

}  // namespace condense
