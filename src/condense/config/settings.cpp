#include "condense/config/settings.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <sstream>

#include "condense/config/config.hpp"
#include "condense/core/error.hpp"

namespace condense::config_detail {

namespace {

constexpr const char* kInitLayerKeys[] = {"scheme", "std", "gamma", "fan"};

std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1])});
      diagonal = up;
    }
  }
  return row[b.size()];
}

}  // namespace

std::string did_you_mean(const std::string& key, const std::vector<std::string>& candidates) {
  std::string best;
  std::size_t best_distance = std::numeric_limits<std::size_t>::max();
  for (const auto& c : candidates) {
    // Within the key's own section compare the last parts, so "lrate" finds "train.lr";
    // across sections compare whole keys.
    const std::size_t dot = c.rfind('.'), key_dot = key.rfind('.');
    const bool same_section = dot != std::string::npos && key_dot != std::string::npos &&
                              c.substr(0, dot) == key.substr(0, key_dot);
    const std::size_t d = same_section ? edit_distance(key.substr(key_dot + 1), c.substr(dot + 1))
                                       : edit_distance(key, c);
    if (d < best_distance) best_distance = d, best = c;
  }
  if (best_distance <= std::max<std::size_t>(2, key.size() / 3))
    return fmt::format(" (did you mean {}?)", best);
  return "";
}

namespace {

bool is_registry_key(const std::string& key) {
  for (const auto& k : config_keys())
    if (k.key == key) return true;
  return false;
}

// Every key, and the sections ("train") for a mistyped table name.
std::vector<std::string> registry_keys() {
  std::vector<std::string> keys;
  for (const auto& k : config_keys()) {
    keys.push_back(k.key);
    const std::string section = k.key.substr(0, k.key.find('.'));
    if (section != k.key && std::find(keys.begin(), keys.end(), section) == keys.end())
      keys.push_back(section);
  }
  return keys;
}

std::string line_of(const std::string& file, const toml::node& node) {
  return fmt::format("{}:{}", file, node.source().begin.line);
}

// Numbers in their shortest exact form (fmt's {}: 0.1, not 0.10000000000000001), the rest as TOML.
std::string formatted(const toml::node& node) {
  if (const auto* s = node.as_string()) return fmt::format("\"{}\"", s->get());
  if (const auto* d = node.as_floating_point()) return fmt::format("{}", d->get());
  if (const auto* i = node.as_integer()) return fmt::format("{}", i->get());
  if (const auto* b = node.as_boolean()) return b->get() ? "true" : "false";
  if (const auto* array = node.as_array()) {
    std::string text;
    for (const auto& item : *array) text += (text.empty() ? "" : ", ") + formatted(item);
    return "[" + text + "]";
  }
  if (const auto* table = node.as_table()) {
    std::string text;
    for (const auto& [name, item] : *table)
      text += (text.empty() ? "" : ", ") + std::string(name.str()) + " = " + formatted(item);
    return "{ " + text + " }";
  }
  std::ostringstream out;
  node.visit([&](const auto& v) { out << v; });
  return out.str();
}

std::optional<double> number_of(const toml::node& node) {
  if (const auto* d = node.as_floating_point()) return d->get();
  if (const auto* i = node.as_integer()) return double(i->get());
  return std::nullopt;
}

bool same_value(const toml::node& a, const toml::node& b) {
  if (const auto x = number_of(a), y = number_of(b); x && y) return *x == *y;
  if (a.type() != b.type()) return false;
  if (const auto* s = a.as_string()) return s->get() == b.as_string()->get();
  if (const auto* f = a.as_boolean()) return f->get() == b.as_boolean()->get();
  if (const auto* array = a.as_array()) {
    const toml::array& other = *b.as_array();
    if (array->size() != other.size()) return false;
    for (std::size_t i = 0; i < array->size(); ++i)
      if (!same_value(*array->get(i), *other.get(i))) return false;
    return true;
  }
  if (const auto* table = a.as_table()) {
    const toml::table& other = *b.as_table();
    if (table->size() != other.size()) return false;
    for (const auto& [name, item] : *table) {
      const toml::node* match = other.get(name.str());
      if (!match || !same_value(item, *match)) return false;
    }
    return true;
  }
  return false;
}

}  // namespace

Settings::Settings() {
  for (const auto& k : config_keys()) {
    auto document = std::make_unique<Document>();
    document->text = "v = " + k.default_value;
    document->table = toml::parse(document->text);
    const Document& kept = keep(std::move(document));
    const Value value{kept.table.get("v"), &kept, "default", "", false};
    defaults_[k.key] = value;
    values_[k.key] = value;
  }
}

const Settings::Document& Settings::keep(std::unique_ptr<Document> document) {
  documents_.push_back(std::move(document));
  return *documents_.back();
}

void Settings::merge_file(const std::string& text, const std::string& file,
                          const std::vector<std::string>& skip) {
  file_ = file;
  auto document = std::make_unique<Document>();
  document->text = text;
  try {
    document->table = toml::parse(document->text, std::string_view(file));
  } catch (const toml::parse_error& e) {
    fail_input("{}:{}:{}: {}", file, e.source().begin.line, e.source().begin.column,
               e.description());
  }
  const Document& kept = keep(std::move(document));
  file_table_ = &kept.table;
  merge_table(kept.table, "", kept, file, skip);
}

void Settings::merge_table(const toml::table& table, const std::string& prefix,
                           const Document& document, const std::string& file,
                           const std::vector<std::string>& skip) {
  for (const auto& [name, node] : table) {
    if (std::find(skip.begin(), skip.end(), std::string(name.str())) != skip.end()) continue;
    const std::string key =
        prefix.empty() ? std::string(name.str()) : prefix + "." + std::string(name.str());
    const std::string origin = line_of(file, node);
    if (key == "init.layers") {
      set_layer_overrides(node, document, origin, file);
      continue;
    }
    if (node.is_table() && !is_registry_key(key)) {
      bool is_section = false;
      for (const auto& k : config_keys()) is_section |= k.key.rfind(key + ".", 0) == 0;
      // An unknown table is one mistake, not one per key inside it.
      if (is_section)
        merge_table(*node.as_table(), key, document, file, {});
      else
        check_known(key, origin);
      continue;
    }
    if (check_known(key, origin)) set(key, node, document, origin, file);
  }
}

void Settings::set_layer_overrides(const toml::node& node, const Document& document,
                                   const std::string& origin, const std::string& file) {
  if (!node.is_table()) {
    error("init.layers", origin, "init.layers must be a table of per-layer overrides");
    return;
  }
  for (const auto& [layer, spec] : *node.as_table()) {
    const std::string layer_key = "init.layers." + std::string(layer.str());
    const std::string layer_origin = file.empty() ? origin : line_of(file, spec);
    if (!spec.is_table()) {
      error(layer_key, layer_origin,
            fmt::format("{} must be a table with scheme, std, gamma and/or fan", layer_key));
      continue;
    }
    for (const auto& [leaf, value] : *spec.as_table()) {
      const std::string leaf_key = layer_key + "." + std::string(leaf.str());
      const std::string leaf_origin = file.empty() ? origin : line_of(file, value);
      if (check_known(leaf_key, leaf_origin)) set(leaf_key, value, document, leaf_origin, file);
    }
  }
}

void Settings::assign(const std::string& assignment, const std::string& where) {
  const std::string origin = where.empty() ? "--set " + assignment : where;
  assignment_origins_.push_back(origin);
  const auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0) {
    error("", origin, "expected key=value, e.g. --set init.std=1e-8");
    return;
  }
  std::string key = assignment.substr(0, eq);
  key.erase(key.find_last_not_of(' ') + 1);
  if (!check_known(key, origin)) return;
  auto document = std::make_unique<Document>();
  document->text = "v = " + assignment.substr(eq + 1);
  try {
    document->table = toml::parse(document->text);
  } catch (const toml::parse_error&) {
    // A bare word: read it as a string, so --set model.activation=relu works unquoted.
    document->table = toml::table{{"v", assignment.substr(eq + 1)}};
    document->text.clear();
  }
  const Document& kept = keep(std::move(document));
  const toml::node& node = *kept.table.get("v");
  if (key == "init.layers") {
    // The whole table of overrides: it replaces the one before.
    std::erase_if(values_,
                  [](const auto& entry) { return entry.first.rfind("init.layers.", 0) == 0; });
    set_layer_overrides(node, kept, origin, "");
    return;
  }
  set(key, node, kept, origin, "");
}

void Settings::set(const std::string& key, const toml::node& node, const Document& document,
                   const std::string& origin, const std::string& file) {
  values_[key] = Value{&node, &document, origin, file, true};
  if (!same_value(node, default_value(key))) history_.push_back(origin + ": " + key);
}

bool Settings::check_known(const std::string& key, const std::string& origin) {
  if (is_registry_key(key)) return true;
  // init.layers.<layer>.<scheme|std|gamma|fan>
  if (key.rfind("init.layers.", 0) == 0) {
    const std::string rest = key.substr(12);
    const auto dot = rest.find('.');
    if (dot != std::string::npos) {
      const std::string leaf = rest.substr(dot + 1);
      for (const char* allowed : kInitLayerKeys)
        if (leaf == allowed) return true;
      error(key, origin,
            fmt::format("unknown key {}; a per-layer init override has scheme, std, gamma and fan",
                        key));
      return false;
    }
  }
  if (key == "sweep" || key.rfind("sweep.", 0) == 0) {
    error(key, origin, "[sweep] belongs to a sweep file; run it with: condense sweep FILE");
    return false;
  }
  if (key == "experiment" || key.rfind("experiment.", 0) == 0) {
    error(key, origin,
          "[experiment] belongs to an experiment file; run it with: condense run FILE");
    return false;
  }
  error(key, origin, fmt::format("unknown key {}{}", key, did_you_mean(key, registry_keys())));
  return false;
}

void Settings::check_key(const std::string& key, const std::string& origin) {
  const std::size_t before = errors_.size();
  if (!check_known(key, origin)) {
    const std::string message = errors_.back().text;
    errors_.resize(before);
    throw InputError(message);
  }
}

const Settings::Value* Settings::value_of(const std::string& key) const {
  const auto it = values_.find(key);
  return it == values_.end() ? nullptr : &it->second;
}

const toml::node* Settings::find(const std::string& key) const {
  const Value* value = value_of(key);
  return value ? value->node : nullptr;
}

std::string Settings::where(const std::string& key) const {
  const Value* value = value_of(key);
  return value ? value->origin : "default";
}

std::string Settings::where(const std::string& key, const toml::node& part) const {
  const Value* value = value_of(key);
  if (value && !value->file.empty() && part.source().begin.line > 0)
    return line_of(value->file, part);
  return where(key);
}

std::string Settings::written(const std::string& key, const toml::node& part) const {
  if (part.is_string()) return formatted(part);
  const Value* value = value_of(key);
  const toml::source_region& source = part.source();
  if (value && value->document && !value->document->text.empty() && source.begin.line > 0 &&
      source.begin.line == source.end.line && source.end.column > source.begin.column) {
    std::istringstream lines(value->document->text);
    std::string line;
    for (toml::source_index n = 0; n < source.begin.line; ++n) std::getline(lines, line);
    // Columns count characters; with ASCII up to the value they are bytes.
    const std::size_t from = source.begin.column - 1, to = source.end.column - 1;
    if (to <= line.size() &&
        std::all_of(line.begin(), line.begin() + std::ptrdiff_t(to),
                    [](char c) { return static_cast<unsigned char>(c) < 0x80; }))
      return line.substr(from, to - from);
  }
  return formatted(part);
}

std::string Settings::written(const std::string& key) const {
  const toml::node* node = find(key);
  return node ? written(key, *node) : "nothing";
}

bool Settings::given(const std::string& key) const {
  const Value* value = value_of(key);
  return value && value->given;
}

bool Settings::from_file(const std::string& key) const {
  const Value* value = value_of(key);
  return value && !value->file.empty();
}

bool Settings::same(const std::string& a, const std::string& b) const {
  const toml::node *x = find(a), *y = find(b);
  return x && y && same_value(*x, *y);
}

bool Settings::changed(const std::string& key) const {
  return given(key) && !same_value(*find(key), default_value(key));
}

std::vector<std::string> Settings::keys_under(const std::string& prefix) const {
  std::vector<std::string> keys;
  for (const auto& [key, value] : values_)
    if (key.rfind(prefix, 0) == 0) keys.push_back(key);
  return keys;
}

const toml::node& Settings::default_value(const std::string& key) const {
  auto it = defaults_.find(key);
  if (it == defaults_.end() && key.rfind("init.layers.", 0) == 0)
    it = defaults_.find("init." + key.substr(key.rfind('.') + 1));
  if (it == defaults_.end()) throw std::logic_error("no default for config key " + key);
  return *it->second.node;
}

double Settings::number(const std::string& key) {
  const toml::node* node = find(key);
  const std::optional<double> value = node ? number_of(*node) : std::nullopt;
  // TOML allows nan and inf; no key of condense means either.
  if (value && std::isfinite(*value)) return *value;
  wrong(key, value ? "a finite number" : "a number");
  return *number_of(default_value(key));
}

std::int64_t Settings::integer(const std::string& key) {
  const toml::node* node = find(key);
  if (node && node->is_integer()) return *node->value<std::int64_t>();
  wrong(key, "an integer");
  return *default_value(key).value<std::int64_t>();
}

bool Settings::boolean(const std::string& key) {
  const toml::node* node = find(key);
  if (node && node->is_boolean()) return *node->value<bool>();
  wrong(key, "true or false");
  return *default_value(key).value<bool>();
}

std::string Settings::text(const std::string& key) {
  const toml::node* node = find(key);
  if (node && node->is_string()) return std::string(*node->value<std::string>());
  wrong(key, "a string");
  return std::string(*default_value(key).value<std::string>());
}

std::vector<std::int64_t> Settings::integers(const std::string& key) {
  auto read = [](const toml::node* node) -> std::optional<std::vector<std::int64_t>> {
    if (!node || !node->is_array()) return std::nullopt;
    std::vector<std::int64_t> out;
    for (const auto& item : *node->as_array()) {
      if (!item.is_integer()) return std::nullopt;
      out.push_back(*item.value<std::int64_t>());
    }
    return out;
  };
  if (auto values = read(find(key))) return *values;
  wrong(key, "an array of integers");
  return *read(&default_value(key));
}

std::vector<double> Settings::numbers(const std::string& key) {
  auto read = [](const toml::node* node) -> std::optional<std::vector<double>> {
    if (!node || !node->is_array()) return std::nullopt;
    std::vector<double> out;
    for (const auto& item : *node->as_array()) {
      const std::optional<double> value = number_of(item);
      if (!value || !std::isfinite(*value)) return std::nullopt;
      out.push_back(*value);
    }
    return out;
  };
  if (auto values = read(find(key))) return *values;
  wrong(key, "an array of finite numbers");
  return *read(&default_value(key));
}

void Settings::wrong(const std::string& key, const std::string& expected) {
  error(key, where(key), fmt::format("{} must be {}, got {}", key, expected, written(key)));
}

void Settings::error(const std::string& key, const std::string& origin,
                     const std::string& message) {
  Problem problem{2, 0, origin + ": " + message};
  if (!file_.empty() && origin.rfind(file_ + ":", 0) == 0 && origin.size() > file_.size() + 1 &&
      std::isdigit(static_cast<unsigned char>(origin[file_.size() + 1])))
    problem.group = 0, problem.position = std::stol(origin.substr(file_.size() + 1));
  else if (const auto it =
               std::find(assignment_origins_.begin(), assignment_origins_.end(), origin);
           it != assignment_origins_.end())
    problem.group = 1, problem.position = it - assignment_origins_.begin();
  errors_.push_back(std::move(problem));
  if (!key.empty()) failed_.push_back(key);
}

bool Settings::ok(std::initializer_list<std::string> keys) const {
  for (const auto& key : keys)
    if (std::find(failed_.begin(), failed_.end(), key) != failed_.end()) return false;
  return true;
}

std::vector<std::string> Settings::errors() const {
  std::vector<Problem> sorted = errors_;
  std::stable_sort(sorted.begin(), sorted.end(), [](const Problem& a, const Problem& b) {
    return std::pair(a.group, a.position) < std::pair(b.group, b.position);
  });
  std::vector<std::string> texts;
  for (const auto& problem : sorted)
    if (std::find(texts.begin(), texts.end(), problem.text) == texts.end())
      texts.push_back(problem.text);
  return texts;
}

}  // namespace condense::config_detail
