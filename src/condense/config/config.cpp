#include "condense/config/config.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <sstream>

#include <toml++/toml.h>

#include "condense/core/atomic_file.hpp"
#include "condense/core/error.hpp"

namespace condense {

namespace {

constexpr const char* kConvKeys[] = {"channels", "kernel", "stride", "padding", "pool"};
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

std::vector<std::string> registry_keys() {
  std::vector<std::string> keys;
  for (const auto& k : config_keys()) keys.push_back(k.key);
  return keys;
}

bool is_registry_key(const std::string& key) {
  for (const auto& k : config_keys())
    if (k.key == key) return true;
  return false;
}

std::string describe_node(const toml::node& node) {
  std::ostringstream out;
  if (node.is_string()) return fmt::format("\"{}\"", *node.value<std::string>());
  if (node.is_table()) return "a table";
  if (node.is_array()) return "an array";
  node.visit([&](const auto& v) { out << v; });
  return out.str();
}

// The merged settings: defaults, then the file, then --set overrides, each value remembering
// where it came from for error messages.
class Settings {
 public:
  Settings() {
    for (const auto& k : config_keys()) {
      toml::table parsed = toml::parse("v = " + k.default_value);
      set(k.key, *parsed.get("v"), "default");
    }
  }

  void merge_file(const toml::table& table, const std::string& file,
                  const std::vector<std::string>& skip_tables) {
    merge_table(table, "", file, skip_tables);
  }

  // `where` names the assignment in errors; empty: "--set <assignment>".
  void apply_override(const std::string& assignment, const std::string& where = "") {
    const auto eq = assignment.find('=');
    const std::string origin = where.empty() ? "--set " + assignment : where;
    if (eq == std::string::npos || eq == 0)
      fail_input("{}: expected key=value, e.g. --set init.std=1e-8", origin);
    std::string key = assignment.substr(0, eq);
    const std::string value = assignment.substr(eq + 1);
    key.erase(key.find_last_not_of(' ') + 1);
    check_known(key, origin);
    toml::table parsed;
    try {
      parsed = toml::parse("v = " + value);
    } catch (const toml::parse_error&) {
      // A bare word: read it as a string, so --set model.activation=relu works unquoted.
      parsed = toml::table{{"v", value}};
    }
    set(key, *parsed.get("v"), origin);
  }

  const toml::node* find(const std::string& key) const {
    return table_.at_path(key).node();
  }
  std::string where(const std::string& key) const {
    auto it = origin_.find(key);
    return it == origin_.end() ? "default" : it->second;
  }

  [[noreturn]] void wrong(const std::string& key, const std::string& expected) const {
    const toml::node* node = find(key);
    fail_input("{}: {} must be {}, got {}", where(key), key, expected,
               node ? describe_node(*node) : "nothing");
  }

  double number(const std::string& key) const {
    const toml::node* node = find(key);
    // TOML allows nan and inf; no key of condense means either.
    if (node && node->is_floating_point() && !std::isfinite(*node->value<double>()))
      wrong(key, "a finite number");
    if (node && node->is_floating_point()) return *node->value<double>();
    if (node && node->is_integer()) return double(*node->value<std::int64_t>());
    wrong(key, "a number");
  }
  std::int64_t integer(const std::string& key) const {
    const toml::node* node = find(key);
    if (node && node->is_integer()) return *node->value<std::int64_t>();
    wrong(key, "an integer");
  }
  bool boolean(const std::string& key) const {
    const toml::node* node = find(key);
    if (node && node->is_boolean()) return *node->value<bool>();
    wrong(key, "true or false");
  }
  std::string text(const std::string& key) const {
    const toml::node* node = find(key);
    if (node && node->is_string()) return std::string(*node->value<std::string>());
    wrong(key, "a string");
  }
  std::vector<std::int64_t> integers(const std::string& key) const {
    const toml::node* node = find(key);
    if (!node || !node->is_array()) wrong(key, "an array of integers");
    std::vector<std::int64_t> out;
    for (const auto& item : *node->as_array()) {
      if (!item.is_integer()) wrong(key, "an array of integers");
      out.push_back(*item.value<std::int64_t>());
    }
    return out;
  }
  std::vector<double> numbers(const std::string& key) const {
    const toml::node* node = find(key);
    if (!node || !node->is_array()) wrong(key, "an array of numbers");
    std::vector<double> out;
    for (const auto& item : *node->as_array()) {
      if (item.is_floating_point()) out.push_back(*item.value<double>());
      else if (item.is_integer()) out.push_back(double(*item.value<std::int64_t>()));
      else wrong(key, "an array of numbers");
    }
    return out;
  }

  void check_key(const std::string& key, const std::string& origin) const { check_known(key, origin); }

 private:
  void check_known(const std::string& key, const std::string& origin) const {
    if (is_registry_key(key)) return;
    // init.layers.<layer>.<scheme|std|gamma>
    if (key.rfind("init.layers.", 0) == 0) {
      const std::string rest = key.substr(12);
      const auto dot = rest.find('.');
      if (dot != std::string::npos) {
        const std::string leaf = rest.substr(dot + 1);
        for (const char* allowed : kInitLayerKeys)
          if (leaf == allowed) return;
        fail_input("{}: unknown key {}; a per-layer init override has scheme, std, gamma and fan",
                   origin, key);
      }
    }
    if (key == "sweep" || key.rfind("sweep.", 0) == 0)
      fail_input("{}: [sweep] belongs to a sweep file; run it with: condense sweep FILE", origin);
    if (key == "experiment" || key.rfind("experiment.", 0) == 0)
      fail_input("{}: [experiment] belongs to an experiment file; run it with: condense run FILE",
                 origin);
    fail_input("{}: unknown key {}{}", origin, key, did_you_mean(key, registry_keys()));
  }

  void set(const std::string& key, const toml::node& value, const std::string& origin) {
    // Create the parent tables along the dotted path, then replace the leaf.
    toml::table* table = &table_;
    std::size_t start = 0;
    for (std::size_t dot; (dot = key.find('.', start)) != std::string::npos; start = dot + 1) {
      const std::string part = key.substr(start, dot - start);
      if (!table->contains(part) || !(*table)[part].is_table()) table->insert_or_assign(part, toml::table{});
      table = (*table)[part].as_table();
    }
    const std::string leaf = key.substr(start);
    value.visit([&](const auto& v) { table->insert_or_assign(leaf, v); });
    origin_[key] = origin;
  }

  void merge_table(const toml::table& table, const std::string& prefix, const std::string& file,
                   const std::vector<std::string>& skip = {}) {
    for (const auto& [name, node] : table) {
      if (std::find(skip.begin(), skip.end(), std::string(name.str())) != skip.end()) continue;
      const std::string key = prefix.empty() ? std::string(name.str())
                                             : prefix + "." + std::string(name.str());
      const std::string origin = fmt::format("{}:{}", file, node.source().begin.line);
      if (key == "init.layers") {
        if (!node.is_table()) wrong_type(key, origin, "a table of per-layer overrides");
        for (const auto& [layer, spec] : *node.as_table()) {
          const std::string layer_key = key + "." + std::string(layer.str());
          if (!spec.is_table())
            wrong_type(layer_key, fmt::format("{}:{}", file, spec.source().begin.line),
                       "a table with scheme, std, gamma and/or fan");
          for (const auto& [leaf, value] : *spec.as_table()) {
            const std::string leaf_key = layer_key + "." + std::string(leaf.str());
            const std::string leaf_origin = fmt::format("{}:{}", file, value.source().begin.line);
            check_known(leaf_key, leaf_origin);
            set(leaf_key, value, leaf_origin);
          }
        }
        continue;
      }
      if (node.is_table() && !is_registry_key(key)) {
        bool is_section = false;
        for (const auto& k : config_keys()) is_section |= k.key.rfind(key + ".", 0) == 0;
        if (!is_section) check_known(key, origin);
        merge_table(*node.as_table(), key, file);
        continue;
      }
      check_known(key, origin);
      if (key == "model.conv") check_conv_entries(node, file);
      set(key, node, origin);
    }
  }

  void check_conv_entries(const toml::node& node, const std::string& file) {
    if (!node.is_array()) return;  // the type check reports it
    for (const auto& entry : *node.as_array()) {
      const std::string origin = fmt::format("{}:{}", file, entry.source().begin.line);
      if (!entry.is_table())
        fail_input("{}: model.conv entries must be tables like {{ channels = 16, kernel = 3 }}",
                   origin);
      for (const auto& [name, value] : *entry.as_table()) {
        const std::string n(name.str());
        bool known = false;
        for (const char* k : kConvKeys) known |= n == k;
        if (!known) {
          std::vector<std::string> candidates(std::begin(kConvKeys), std::end(kConvKeys));
          fail_input("{}: unknown key {} in a model.conv entry{}; expected channels, kernel, "
                     "stride, padding, pool",
                     origin, n, did_you_mean(n, candidates));
        }
      }
    }
  }

  [[noreturn]] static void wrong_type(const std::string& key, const std::string& origin,
                                      const std::string& expected) {
    fail_input("{}: {} must be {}", origin, key, expected);
  }

  toml::table table_;
  std::map<std::string, std::string> origin_;
};

int to_int(const Settings& s, const std::string& key, std::int64_t lo, std::int64_t hi) {
  const std::int64_t v = s.integer(key);
  if (v < lo || v > hi) {
    if (hi == std::numeric_limits<int>::max()) s.wrong(key, fmt::format("an integer ≥ {}", lo));
    s.wrong(key, fmt::format("an integer in [{}, {}]", lo, hi));
  }
  return int(v);
}

double positive(const Settings& s, const std::string& key) {
  const double v = s.number(key);
  if (!(v > 0) || !std::isfinite(v)) s.wrong(key, "a positive number");
  return v;
}

ConvSpec conv_entry(const Settings& s, const toml::table& entry, std::size_t index,
                    Pooling default_pool) {
  const std::string where = fmt::format("{} (model.conv[{}])", s.where("model.conv"), index);
  auto get = [&](const char* name, int fallback, int minimum) {
    const toml::node* node = entry.get(name);
    if (!node) return fallback;
    if (!node->is_integer() || *node->value<std::int64_t>() < minimum)
      fail_input("{}: {} must be an integer ≥ {}, got {}", where, name, minimum,
                 describe_node(*node));
    return int(*node->value<std::int64_t>());
  };
  ConvSpec conv;
  if (!entry.get("channels")) fail_input("{}: a conv layer needs channels", where);
  conv.channels = get("channels", 0, 1);
  conv.kernel = get("kernel", 3, 1);
  conv.stride = get("stride", 1, 1);
  conv.padding = get("padding", 0, 0);
  conv.pool = default_pool;
  if (const toml::node* pool = entry.get("pool")) {
    if (!pool->is_string()) fail_input("{}: pool must be a string (none, avg2, max2)", where);
    try {
      conv.pool = parse_pooling(std::string(*pool->value<std::string>()));
    } catch (const InputError& e) {
      fail_input("{}: {}", where, e.what());
    }
  }
  return conv;
}

template <class Parse>
auto parse_enum(const Settings& s, const std::string& key, Parse parse) {
  const std::string value = s.text(key);
  try {
    return parse(value);
  } catch (const InputError& e) {
    fail_input("{}: {}: {}", s.where(key), key, e.what());
  }
}

InitSpec init_spec(const Settings& s, const std::string& prefix, const InitSpec* fallback) {
  InitSpec spec = fallback ? *fallback : InitSpec{};
  auto has = [&](const char* leaf) { return s.find(prefix + "." + leaf) != nullptr; };
  if (has("scheme")) spec.scheme = parse_enum(s, prefix + ".scheme", parse_init_scheme);
  if (has("std")) {
    spec.std = positive(s, prefix + ".std");
    if (fallback) spec.gamma.reset();
  }
  if (has("gamma")) {
    const double gamma = s.number(prefix + ".gamma");
    if (gamma < 0 || !std::isfinite(gamma)) s.wrong(prefix + ".gamma", "a number ≥ 0");
    if (gamma > 0) spec.gamma = gamma;
    else if (!fallback) spec.gamma.reset();
  }
  if (has("fan")) {
    const std::string fan = s.text(prefix + ".fan");
    if (fan != "in" && fan != "out") s.wrong(prefix + ".fan", "\"in\" or \"out\"");
    spec.gamma_fan_out = fan == "out";
  }
  return spec;
}

RunConfig convert(const Settings& s) {
  RunConfig c;
  c.seed = std::uint64_t(s.integer("seed"));
  c.dtype = parse_enum(s, "dtype", parse_dtype);
  c.threads = to_int(s, "threads", 0, 1024);

  DataSpec& d = c.data;
  d.dataset = parse_enum(s, "data.dataset", parse_dataset);
  d.path = s.text("data.path");
  d.train_size = to_int(s, "data.train_size", 0, std::numeric_limits<int>::max());
  d.test_size = to_int(s, "data.test_size", -1, std::numeric_limits<int>::max());
  d.subset = parse_enum(s, "data.subset", parse_subset);
  for (auto v : s.integers("data.classes")) d.classes.push_back(int(v));
  d.normalize = parse_enum(s, "data.normalize", parse_normalize);
  d.target = parse_enum(s, "data.target", parse_target);
  for (auto v : s.integers("data.positive_classes")) d.positive_classes.push_back(int(v));
  d.sin.dim = to_int(s, "data.sin_dim", 1, 1 << 20);
  d.sin.amplitude = s.number("data.sin_amplitude");
  d.sin.frequency = s.number("data.sin_frequency");
  d.sin.phase = s.number("data.sin_phase");
  d.sin.low = s.number("data.sin_low");
  d.sin.high = s.number("data.sin_high");
  if (!(d.sin.low < d.sin.high)) s.wrong("data.sin_high", "greater than data.sin_low");
  const auto shape = s.integers("data.gaussian_shape");
  if (shape.size() != 3 || std::any_of(shape.begin(), shape.end(), [](auto v) { return v < 1; }))
    s.wrong("data.gaussian_shape", "[C, H, W] with positive sizes");
  d.gaussian.shape = {int(shape[0]), int(shape[1]), int(shape[2])};
  d.gaussian.classes = to_int(s, "data.gaussian_classes", 2, 1 << 16);
  d.gaussian.labels = s.text("data.gaussian_labels");
  if (d.gaussian.labels != "teacher" && d.gaussian.labels != "random")
    s.wrong("data.gaussian_labels", "\"teacher\" or \"random\"");
  try {
    validate(d);
  } catch (const InputError& e) {
    fail_input("config: {}", e.what());
  }

  ModelSpec& m = c.model;
  const Pooling pool = parse_enum(s, "model.pool", parse_pooling);
  const toml::node* conv = s.find("model.conv");
  if (!conv->is_array()) s.wrong("model.conv", "an array of tables");
  std::size_t index = 0;
  for (const auto& entry : *conv->as_array()) {
    if (!entry.is_table()) s.wrong("model.conv", "an array of tables");
    m.conv.push_back(conv_entry(s, *entry.as_table(), index++, pool));
  }
  for (auto v : s.integers("model.hidden")) {
    if (v < 1) s.wrong("model.hidden", "an array of positive widths");
    m.hidden.push_back(int(v));
  }
  const toml::node* activation = s.find("model.activation");
  std::vector<std::string> names;
  if (activation->is_string()) {
    names.push_back(s.text("model.activation"));
  } else if (activation->is_array()) {
    for (const auto& item : *activation->as_array()) {
      if (!item.is_string()) s.wrong("model.activation", "a name or an array of names");
      names.emplace_back(*item.value<std::string>());
    }
  } else {
    s.wrong("model.activation", "a name or an array of names");
  }
  for (const auto& name : names) {
    try {
      m.activations.push_back(parse_activation(name));
    } catch (const InputError& e) {
      fail_input("{}: model.activation: {}", s.where("model.activation"), e.what());
    }
  }
  if (m.activations.size() != 1 && int(m.activations.size()) != m.activated_layers())
    fail_input("{}: model.activation lists {} names, but the model has {} conv and hidden "
               "layers; give one name, or one per layer",
               s.where("model.activation"), m.activations.size(), m.activated_layers());
  m.bias = s.boolean("model.bias");
  m.outputs = to_int(s, "model.outputs", 0, 1 << 20);
  m.residual = s.boolean("model.residual");

  c.init.all = init_spec(s, "init", nullptr);
  if (const toml::node* layers = s.find("init.layers"); layers && layers->is_table()) {
    for (const auto& [layer, spec] : *layers->as_table()) {
      const std::string name(layer.str());
      c.init.layers[name] = init_spec(s, "init.layers." + name, &c.init.all);
    }
  }

  TrainConfig& t = c.train;
  t.loss = parse_enum(s, "train.loss", parse_loss);
  OptimizerSpec& o = t.optimizer;
  o.kind = parse_enum(s, "train.optimizer", parse_optimizer);
  o.lr = positive(s, "train.lr");
  o.momentum = s.number("train.momentum");
  if (!(o.momentum >= 0 && o.momentum < 1)) s.wrong("train.momentum", "a number in [0, 1)");
  o.dampening = s.number("train.dampening");
  if (!(o.dampening >= 0 && o.dampening <= 1)) s.wrong("train.dampening", "a number in [0, 1]");
  o.nesterov = s.boolean("train.nesterov");
  const auto betas = s.numbers("train.betas");
  if (betas.size() != 2 || !(betas[0] >= 0 && betas[0] < 1) || !(betas[1] >= 0 && betas[1] < 1))
    s.wrong("train.betas", "two numbers in [0, 1)");
  o.beta1 = betas[0];
  o.beta2 = betas[1];
  o.eps = positive(s, "train.eps");
  o.weight_decay = s.number("train.weight_decay");
  if (!(o.weight_decay >= 0) || !std::isfinite(o.weight_decay)) s.wrong("train.weight_decay", "a number ≥ 0");
  if (o.kind == OptimizerKind::gd && o.momentum != 0)
    s.wrong("train.momentum", "0 for optimizer gd (use sgd for momentum)");
  if (o.nesterov && (o.kind != OptimizerKind::sgd || o.momentum <= 0))
    s.wrong("train.nesterov", "false unless optimizer = \"sgd\" with momentum > 0");
  t.batch_size = to_int(s, "train.batch_size", 0, std::numeric_limits<int>::max());
  if (o.kind == OptimizerKind::gd && t.batch_size != 0)
    s.wrong("train.batch_size", "0 for optimizer gd (full-batch); use sgd for mini-batches");
  t.steps = long(s.integer("train.steps"));
  if (t.steps < 0) s.wrong("train.steps", "an integer ≥ 0");
  t.epochs = long(s.integer("train.epochs"));
  if (t.epochs < 0) s.wrong("train.epochs", "an integer ≥ 0");
  o.schedule.kind = parse_enum(s, "train.schedule", parse_schedule);
  o.schedule.step_size = long(s.integer("train.step_size"));
  if (o.schedule.step_size < 1) s.wrong("train.step_size", "an integer ≥ 1");
  o.schedule.factor = positive(s, "train.step_factor");
  o.schedule.min_lr = s.number("train.min_lr");
  if (!(o.schedule.min_lr >= 0) || !std::isfinite(o.schedule.min_lr)) s.wrong("train.min_lr", "a number ≥ 0");
  t.eval_every = long(s.integer("train.eval_every"));
  if (t.eval_every < 1) s.wrong("train.eval_every", "an integer ≥ 1");

  TrackConfig& k = c.track;
  k.snapshots = s.text("track.snapshots");
  if (k.snapshots != "log" && k.snapshots != "none") {
    bool ok = k.snapshots.rfind("every:", 0) == 0 && k.snapshots.size() > 6;
    long every = 0;
    if (ok) {
      try {
        std::size_t used = 0;
        every = std::stol(k.snapshots.substr(6), &used);
        ok = used == k.snapshots.size() - 6 && every >= 1;
      } catch (const std::exception&) {
        ok = false;
      }
    }
    if (!ok) s.wrong("track.snapshots", "\"log\", \"every:K\" with K ≥ 1, or \"none\"");
  }
  k.per_decade = to_int(s, "track.per_decade", 1, 1000);
  for (auto v : s.integers("track.extra_steps")) {
    if (v < 0) s.wrong("track.extra_steps", "an array of steps ≥ 0");
    k.extra_steps.push_back(long(v));
  }
  k.threshold = s.number("track.threshold");
  if (!(k.threshold > 0 && k.threshold < 1)) s.wrong("track.threshold", "a number in (0, 1)");
  k.negligible = s.number("track.negligible");
  if (!(k.negligible >= 0 && k.negligible < 1)) s.wrong("track.negligible", "a number in [0, 1)");
  k.with_bias = s.boolean("track.with_bias");
  k.evaluate_at_snapshots = s.boolean("track.evaluate_at_snapshots");
  k.save_cosines = s.boolean("track.save_cosines");
  return c;
}

RunConfig load(const std::string& text, const std::string& origin,
               const std::vector<std::string>& overrides,
               const std::vector<std::string>& skip_tables = {},
               const std::vector<ConfigAssignment>& assignments = {}) {
  Settings settings;
  if (!text.empty() || !origin.empty()) {
    toml::table table;
    try {
      table = toml::parse(text, origin);
    } catch (const toml::parse_error& e) {
      fail_input("{}:{}:{}: {}", origin, e.source().begin.line, e.source().begin.column,
                 e.description());
    }
    settings.merge_file(table, origin, skip_tables);
  }
  for (const auto& a : assignments) settings.apply_override(a.assignment, a.origin);
  for (const auto& o : overrides) settings.apply_override(o);
  return convert(settings);
}

}  // namespace

void check_config_key(const std::string& key, const std::string& origin) {
  Settings().check_key(key, origin);
}

RunConfig load_config(const std::filesystem::path& path, const std::vector<std::string>& overrides) {
  if (path.empty()) return load("", "", overrides);
  std::string text;
  try {
    text = read_file(path);
  } catch (const IoError& e) {
    fail_input("{}", e.what());
  }
  return load(text, path.string(), overrides);
}

RunConfig load_config_text(const std::string& text, const std::string& origin,
                           const std::vector<std::string>& skip_tables,
                           const std::vector<ConfigAssignment>& assignments,
                           const std::vector<std::string>& overrides) {
  return load(text, origin, overrides, skip_tables, assignments);
}

RunConfig load_config_text(const std::string& text, const std::string& origin,
                           const std::vector<std::string>& overrides) {
  return load(text, origin, overrides);
}

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
  toml::table root{{"seed", std::int64_t(c.seed)},
                   {"dtype", dtype_name(c.dtype)},
                   {"threads", c.threads},
                   {"data", data},
                   {"model", model},
                   {"init", init},
                   {"train", train},
                   {"track", track}};
  std::ostringstream out;
  out << "# condense run configuration, every key resolved\n" << root << "\n";
  return out.str();
}

}  // namespace condense
