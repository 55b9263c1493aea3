#pragma once
// JSON files from outside or from a run directory (summary.json, prediction.json, clusters.json,
// safetensors headers), read as hostile: nesting is bounded before parsing (nlohmann's parser
// recurses, so a file nested 100 000 deep would overflow the stack), invalid JSON is an error
// naming the file, and every field is read through a typed accessor whose error names the file,
// the field and what was expected.
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace condense {

// The byte at which arrays and objects in `text` nest deeper than `limit` (strings skipped), or
// std::string_view::npos if they never do.
std::size_t json_nesting_beyond(std::string_view text, int limit);

// Parses `text`, which came from `origin` (named in errors), refusing nesting deeper than
// `max_depth` and invalid JSON with an InputError.
nlohmann::json parse_json(std::string_view text, const std::string& origin, int max_depth = 32);

// Reads and parses a JSON file (IoError if it cannot be read).
nlohmann::json read_json_file(const std::filesystem::path& path, int max_depth = 32);

// Typed fields of a JSON object read from `origin`: absent (or null) gives std::nullopt, a value of
// another type an InputError "<origin>: "<key>" is <value>, expected <what>".
std::optional<std::string> json_string(const nlohmann::json& object, const std::string& key,
                                       const std::string& origin);
std::optional<double> json_number(const nlohmann::json& object, const std::string& key,
                                  const std::string& origin);
std::optional<long> json_integer(const nlohmann::json& object, const std::string& key,
                                 const std::string& origin);
// A field that must be an object, or nullptr when absent (or null).
const nlohmann::json* json_object(const nlohmann::json& object, const std::string& key,
                                  const std::string& origin);
// A field that must be an array of numbers (of strings).
std::optional<std::vector<double>> json_numbers(const nlohmann::json& object, const std::string& key,
                                                const std::string& origin);
std::optional<std::vector<std::string>> json_strings(const nlohmann::json& object,
                                                     const std::string& key,
                                                     const std::string& origin);
// `value` must be an object: InputError "<origin> is <value>, expected a JSON object" otherwise.
void require_json_object(const nlohmann::json& value, const std::string& origin);

}  // namespace condense
