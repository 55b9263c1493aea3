// The resolved config written out as TOML: every key, enough to rerun exactly.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <toml++/toml.h>

#include <algorithm>
#include <cctype>
#include <limits>
#include <sstream>

#include "condense/config/config.hpp"

namespace condense {

namespace {

// A float in the shortest form that reads back to the same double (0.05, not toml++'s
// 0.050000000000000003), with the decimal point TOML needs.
std::string float_text(double value) {
  std::string text = fmt::format("{}", value);
  if (text.find_first_of(".eEn") == std::string::npos) text += ".0";  // n: nan, inf
  return text;
}

void append_value(std::string& out, const toml::node& node) {
  if (node.is_floating_point()) {
    out += float_text(*node.value<double>());
  } else if (const toml::array* array = node.as_array()) {
    if (array->empty()) {
      out += "[]";
      return;
    }
    out += "[ ";
    for (std::size_t i = 0; i < array->size(); ++i) {
      if (i > 0) out += ", ";
      append_value(out, *array->get(i));
    }
    out += " ]";
  } else if (const toml::table* table = node.as_table()) {
    out += "{ ";
    bool first = true;
    for (const auto& [key, value] : *table) {
      if (!first) out += ", ";
      first = false;
      out += std::string(key.str()) + " = ";
      append_value(out, value);
    }
    out += " }";
  } else {
    std::ostringstream text;  // strings (quoted as TOML needs), integers, booleans
    node.visit([&](const auto& v) { text << v; });
    out += text.str();
  }
}

bool is_array_of_tables(const toml::node& node) {
  const toml::array* array = node.as_array();
  return array && !array->empty() && array->is_array_of_tables();
}

// The keys of `table`, then its tables as [path] sections and arrays of tables as [[path]],
// indented by depth as toml++ lays them out.
void append_table(std::string& out, const toml::table& table, const std::string& path,
                  int depth) {
  const std::string indent(std::size_t(std::max(0, depth - 1)) * 4, ' ');
  for (const auto& [key, node] : table) {
    if (node.is_table() || is_array_of_tables(node)) continue;
    out += indent + std::string(key.str()) + " = ";
    append_value(out, node);
    out += "\n";
  }
  for (const auto& [key, node] : table) {
    const std::string name = path.empty() ? std::string(key.str()) : path + "." + std::string(key.str());
    const std::string sub_indent(std::size_t(depth) * 4, ' ');
    if (const toml::table* sub = node.as_table()) {
      out += "\n" + sub_indent + "[" + name + "]\n";
      append_table(out, *sub, name, depth + 1);
    } else if (is_array_of_tables(node)) {
      for (const toml::node& entry : *node.as_array()) {
        out += "\n" + sub_indent + "[[" + name + "]]\n";
        append_table(out, *entry.as_table(), name, depth + 1);
      }
    }
  }
}

std::string toml_text(const toml::table& table) {
  std::string out;
  append_table(out, table, "", 0);
  return out;
}

std::string quoted(const std::string& text) {
  std::ostringstream out;  // TOML's basic string, with its escapes (\n, \", \\, \uXXXX)
  out << toml::value<std::string>(text);
  return out.str();
}

// A key bare when TOML allows it (lr, weight_decay), else quoted.
std::string key_text(const std::string& key) {
  const bool bare = !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
  return bare ? key : quoted(key);
}

// An optimizer setting (a number, a boolean, a string or an array of them) as TOML.
std::string setting_text(const nlohmann::json& value) {
  if (value.is_array()) {
    std::vector<std::string> items;
    for (const auto& item : value) items.push_back(setting_text(item));
    return items.empty() ? "[]" : fmt::format("[ {} ]", fmt::join(items, ", "));
  }
  if (value.is_boolean()) return value.get<bool>() ? "true" : "false";
  // TOML integers are 64-bit signed: a larger unsigned one is written as a float.
  if (value.is_number_unsigned() &&
      value.get<std::uint64_t>() > std::uint64_t(std::numeric_limits<std::int64_t>::max()))
    return float_text(value.get<double>());
  if (value.is_number_integer()) return fmt::format("{}", value.get<std::int64_t>());
  if (value.is_number()) return float_text(value.get<double>());
  return quoted(value.is_string() ? value.get<std::string>() : value.dump());
}

// The config of a run trained outside condense: [external], then [track].
std::string external_toml(const ExternalTraining& e, const toml::table& track) {
  std::string out =
      "# a run trained outside condense: condense reads, measures and reports it, and cannot "
      "train it\n\n[external]\n";
  out += "trained_with = " + quoted(e.trained_with) + "\n";
  const std::pair<const char*, const std::string*> texts[] = {
      {"version", &e.version},
      {"model_class", &e.model_class},
      {"model", &e.model},
      {"optimizer_class", &e.optimizer_class},
      {"description", &e.description}};
  for (const auto& [key, value] : texts)
    if (!value->empty()) out += fmt::format("{} = {}\n", key, quoted(*value));
  if (!e.parameters.empty()) {
    out += "parameters = [\n";
    for (const auto& p : e.parameters)
      out += fmt::format("    {{ name = {}, shape = {} }},\n", quoted(p.name),
                         p.shape.empty() ? "[]" : fmt::format("[ {} ]", fmt::join(p.shape, ", ")));
    out += "]\n";
  }
  for (const auto& group : e.optimizer) {
    out += "\n[[external.optimizer]]\n";
    for (const auto& [key, value] : group.items())
      out += fmt::format("{} = {}\n", key_text(key), setting_text(value));
  }
  return out + "\n[track]\n" + toml_text(track);
}

}  // namespace

std::string to_toml(const RunConfig& c) {
  auto list = [](const auto& values) {
    toml::array array;
    for (const auto& v : values) array.push_back(v);
    return array;
  };
  toml::table data{
      {"dataset", dataset_name(c.data.dataset)},
      {"path", c.data.path},
      {"train_size", c.data.train_size},
      {"test_size", c.data.test_size},
      {"subset", subset_name(c.data.subset)},
      {"classes", list(c.data.classes)},
      {"normalize", normalize_name(c.data.normalize)},
      {"target", target_name(c.data.target)},
      {"positive_classes", list(c.data.positive_classes)},
      {"sin_dim", c.data.sin.dim},
      {"sin_amplitude", c.data.sin.amplitude},
      {"sin_frequency", c.data.sin.frequency},
      {"sin_phase", c.data.sin.phase},
      {"sin_low", c.data.sin.low},
      {"sin_high", c.data.sin.high},
      {"gaussian_shape", toml::array{c.data.gaussian.shape.channels, c.data.gaussian.shape.height,
                                     c.data.gaussian.shape.width}},
      {"gaussian_classes", c.data.gaussian.classes},
      {"gaussian_labels", c.data.gaussian.labels},
  };
  toml::array conv;
  for (const auto& layer : c.model.conv)
    conv.push_back(toml::table{{"channels", layer.channels},
                               {"kernel", layer.kernel},
                               {"stride", layer.stride},
                               {"padding", layer.padding},
                               {"pool", pooling_name(layer.pool)}});
  toml::array activations;
  for (const auto& a : c.model.activations) activations.push_back(a.name());
  toml::table model{
      {"conv", conv},
      {"pool", "none"},
      {"hidden", list(c.model.hidden)},
      {"bias", c.model.bias},
      {"outputs", c.model.outputs},
      {"residual", c.model.residual},
  };
  if (activations.size() == 1) model.insert("activation", c.model.activations[0].name());
  else model.insert("activation", activations);
  auto init_table = [](const InitSpec& spec) {
    return toml::table{{"scheme", init_scheme_name(spec.scheme)},
                       {"std", spec.std.value_or(1e-4)},
                       {"gamma", spec.gamma.value_or(0.0)},
                       {"fan", spec.gamma_fan_out ? "out" : "in"}};
  };
  toml::table init = init_table(c.init.all);
  toml::table layers;
  for (const auto& [name, spec] : c.init.layers) layers.insert(name, init_table(spec));
  init.insert("layers", layers);
  const OptimizerSpec& o = c.train.optimizer;
  toml::table train{
      {"loss", loss_name(c.train.loss)},
      {"optimizer", optimizer_name(o.kind)},
      {"lr", o.lr},
      {"momentum", o.momentum},
      {"dampening", o.dampening},
      {"nesterov", o.nesterov},
      {"betas", toml::array{o.beta1, o.beta2}},
      {"eps", o.eps},
      {"weight_decay", o.weight_decay},
      {"batch_size", c.train.batch_size},
      {"steps", c.train.steps},
      {"epochs", c.train.epochs},
      {"schedule", schedule_name(o.schedule.kind)},
      {"step_size", o.schedule.step_size},
      {"step_factor", o.schedule.factor},
      {"min_lr", o.schedule.min_lr},
      {"eval_every", c.train.eval_every},
  };
  toml::table track{
      {"snapshots", c.track.snapshots},
      {"per_decade", c.track.per_decade},
      {"extra_steps", list(c.track.extra_steps)},
      {"threshold", c.track.threshold},
      {"negligible", c.track.negligible},
      {"with_bias", c.track.with_bias},
      {"evaluate_at_snapshots", c.track.evaluate_at_snapshots},
      {"save_cosines", c.track.save_cosines},
  };
  if (c.external.given()) return external_toml(c.external, track);
  toml::table root{{"seed", std::int64_t(c.seed)},
                   {"dtype", dtype_name(c.dtype)},
                   {"threads", c.threads},
                   {"data", data},
                   {"model", model},
                   {"init", init},
                   {"train", train},
                   {"track", track}};
  return "# condense run configuration, every key resolved\n" + toml_text(root);
}

}  // namespace condense
