// The [external] table of a run trained outside condense (docs/config.md): what trained it, read
// and type-checked field by field. Such a config holds [external] and [track] only.
#include <fmt/format.h>
#include <toml++/toml.h>

#include <algorithm>

#include "condense/config/config.hpp"
#include "condense/config/settings.hpp"

namespace condense {

namespace config_detail {

namespace {

constexpr const char* kExternalKeys[] = {"trained_with", "version",    "model_class",
                                         "model",        "parameters", "optimizer_class",
                                         "optimizer",    "description"};

// Reads the fields of one [external] table, recording each mistake at its line.
class ExternalReader {
 public:
  ExternalReader(Settings& settings, const std::string& file) : settings_(settings), file_(file) {}

  void read(const toml::table& table, ExternalTraining& external) {
    for (const auto& [name, node] : table) {
      const std::string key(name.str());
      if (std::find(std::begin(kExternalKeys), std::end(kExternalKeys), key) ==
          std::end(kExternalKeys))
        error(node,
              fmt::format("unknown key external.{}{}; expected {}", key,
                          did_you_mean(key, {std::begin(kExternalKeys), std::end(kExternalKeys)}),
                          "trained_with, version, model_class, model, parameters, "
                          "optimizer_class, optimizer, description"));
    }
    external.trained_with = text(table, "trained_with");
    if (!table.get("trained_with"))
      error(table, "the [external] table needs trained_with, e.g. trained_with = \"pytorch\"");
    else if (table.get("trained_with")->is_string() && external.trained_with.empty())
      error(*table.get("trained_with"),
            "external.trained_with must name what trained the run, e.g. \"pytorch\"");
    external.version = text(table, "version");
    external.model_class = text(table, "model_class");
    external.model = text(table, "model");
    external.optimizer_class = text(table, "optimizer_class");
    external.description = text(table, "description");
    if (const toml::node* parameters = table.get("parameters"))
      read_parameters(*parameters, external);
    if (const toml::node* optimizer = table.get("optimizer")) read_optimizer(*optimizer, external);
  }

 private:
  void error(const toml::node& node, const std::string& message) {
    settings_.error("", fmt::format("{}:{}", file_, node.source().begin.line), message);
  }

  std::string text(const toml::table& table, const char* key) {
    const toml::node* node = table.get(key);
    if (!node) return {};
    if (!node->is_string()) {
      error(*node, fmt::format("external.{} must be a string", key));
      return {};
    }
    return std::string(*node->value<std::string>());
  }

  void read_parameters(const toml::node& node, ExternalTraining& external) {
    const char* expected =
        "external.parameters must be an array of { name = \"conv1.weight\", shape = [8, 1, 3, 3] }";
    const toml::array* array = node.as_array();
    if (!array) return error(node, expected);
    for (const toml::node& entry : *array) {
      const toml::table* table = entry.as_table();
      const toml::node* name = table ? table->get("name") : nullptr;
      const toml::array* shape =
          table && table->get("shape") ? table->get("shape")->as_array() : nullptr;
      if (!name || !name->is_string() || !shape || table->size() != 2) {
        error(entry, expected);
        continue;
      }
      ExternalParameter parameter;
      parameter.name = std::string(*name->value<std::string>());
      for (const toml::node& size : *shape) {
        const std::optional<std::int64_t> value = size.value<std::int64_t>();
        if (!size.is_integer() || *value < 0) {
          error(entry, fmt::format("external.parameters: the shape of {} must list sizes ≥ 0",
                                   parameter.name));
          break;
        }
        parameter.shape.push_back(*value);
      }
      external.parameters.push_back(std::move(parameter));
    }
  }

  // A setting of the optimizer: a number, a boolean, a string, or an array of them.
  std::optional<nlohmann::json> setting(const toml::node& node, bool inside_array) {
    if (node.is_integer()) return nlohmann::json(*node.value<std::int64_t>());
    if (node.is_floating_point()) return nlohmann::json(*node.value<double>());
    if (node.is_boolean()) return nlohmann::json(*node.value<bool>());
    if (node.is_string()) return nlohmann::json(std::string(*node.value<std::string>()));
    if (node.is_array() && !inside_array) {
      nlohmann::json values = nlohmann::json::array();
      for (const toml::node& item : *node.as_array()) {
        std::optional<nlohmann::json> value = setting(item, true);
        if (!value) return std::nullopt;
        values.push_back(std::move(*value));
      }
      return values;
    }
    return std::nullopt;
  }

  void read_optimizer(const toml::node& node, ExternalTraining& external) {
    const toml::array* groups = node.as_array();
    if (!groups || !groups->is_array_of_tables())
      return error(node,
                   "external.optimizer must be an array of tables, one per parameter group "
                   "([[external.optimizer]] sections)");
    for (const toml::node& group : *groups) {
      nlohmann::json settings = nlohmann::json::object();
      for (const auto& [name, value] : *group.as_table()) {
        std::optional<nlohmann::json> parsed = setting(value, false);
        if (!parsed) {
          error(value, fmt::format("external.optimizer: {} must be a number, a boolean, a "
                                   "string or an array of them",
                                   name.str()));
          continue;
        }
        settings[std::string(name.str())] = std::move(*parsed);
      }
      external.optimizer.push_back(std::move(settings));
    }
  }

  Settings& settings_;
  std::string file_;
};

}  // namespace

void read_external(Settings& settings, ExternalTraining& external) {
  const toml::table* file = settings.file_table();
  const toml::node* node = file ? file->get("external") : nullptr;
  if (!node) return;
  const std::string& file_name = settings.file_name();
  if (!node->is_table()) {
    settings.error("", fmt::format("{}:{}", file_name, node->source().begin.line),
                   "external must be a table: [external] with trained_with, model, ...");
    return;
  }
  ExternalReader(settings, file_name).read(*node->as_table(), external);
  if (!external.given()) return;
  // The rest of the config would describe a training that condense did not do.
  for (const std::string& key : settings.keys_under(""))
    if (key.rfind("track.", 0) != 0 && settings.from_file(key))
      settings.error(key, settings.where(key),
                     fmt::format("{} does not belong in the config of a run trained outside "
                                 "condense ([external]): only [track] settings apply to it",
                                 key));
}

}  // namespace config_detail

std::string external_training_refusal(const ExternalTraining& external, const std::string& what) {
  std::string by = external.trained_with;
  if (by == "pytorch") by = "PyTorch";
  return fmt::format(
      "{} was trained outside condense ({}); condense cannot train it; condense report, "
      "condense analyze and condense compare read it",
      what, by);
}

}  // namespace condense
