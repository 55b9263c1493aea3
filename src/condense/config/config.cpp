// Converts the merged settings (settings.hpp) into a RunConfig, checking every key. A mistake is
// recorded and the conversion goes on with the key's default, so that one error lists every
// mistake of a config; checks that combine keys run only when those keys are sound.
#include "condense/config/config.hpp"

#include <fmt/format.h>
#include <toml++/toml.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "condense/config/settings.hpp"
#include "condense/core/atomic_file.hpp"
#include "condense/core/error.hpp"

namespace condense {

using config_detail::Settings;

namespace {

constexpr const char* kConvKeys[] = {"channels", "kernel", "stride", "padding", "pool"};
constexpr int kNoLimit = std::numeric_limits<int>::max();

int to_int(Settings& s, const std::string& key, std::int64_t lo, std::int64_t hi) {
  const std::int64_t v = s.integer(key);
  if (v >= lo && v <= hi) return int(v);
  // The upper bound is named when it is what the value broke, even where it is only int's.
  s.wrong(key, hi == kNoLimit && v < lo ? fmt::format("an integer ≥ {}", lo)
                                        : fmt::format("an integer in [{}, {}]", lo, hi));
  return int(*s.default_value(key).value<std::int64_t>());
}

// Steps and epochs: at most 2^53, so that every step count is exact in a double (the time axis of
// the figures, lr × step) and epochs × batches cannot wrap.
constexpr long kMaxSteps = 1L << 53;

long to_long(Settings& s, const std::string& key, long lo) {
  const std::int64_t v = s.integer(key);
  if (v >= lo && v <= kMaxSteps) return long(v);
  s.wrong(key, fmt::format("an integer in [{}, {}]", lo, kMaxSteps));
  return long(*s.default_value(key).value<std::int64_t>());
}

// A number of `key` for which `valid` holds; else the error "must be <expected>" and the default.
template <class Valid>
double checked(Settings& s, const std::string& key, Valid valid, const std::string& expected) {
  const double v = s.number(key);
  if (valid(v)) return v;
  s.wrong(key, expected);
  return *s.default_value(key).value<double>();
}

double positive(Settings& s, const std::string& key) {
  return checked(
      s, key, [](double v) { return v > 0; }, "a positive number");
}

template <class Parse>
auto parse_enum(Settings& s, const std::string& key, Parse parse) {
  const std::string fallback(*s.default_value(key).value<std::string>());
  const std::string value = s.text(key);
  try {
    return parse(value);
  } catch (const InputError& e) {
    s.error(key, s.where(key), fmt::format("{}: {}", key, e.what()));
  }
  return parse(fallback);
}

ConvSpec conv_entry(Settings& s, const toml::table& entry, std::size_t index,
                    Pooling default_pool) {
  const std::string where = fmt::format("{} (model.conv[{}])", s.where("model.conv", entry), index);
  for (const auto& [name, value] : entry) {
    const std::string n(name.str());
    if (std::find(std::begin(kConvKeys), std::end(kConvKeys), n) == std::end(kConvKeys))
      s.error("model.conv", where,
              fmt::format(
                  "unknown key {} in a model.conv entry{}; expected channels, kernel, "
                  "stride, padding, pool",
                  n, config_detail::did_you_mean(n, {std::begin(kConvKeys), std::end(kConvKeys)})));
  }
  auto get = [&](const char* name, int fallback, int minimum) {
    const toml::node* node = entry.get(name);
    if (!node) return fallback;
    if (!node->is_integer() || *node->value<std::int64_t>() < minimum ||
        *node->value<std::int64_t>() > kNoLimit) {
      const bool too_large = node->is_integer() && *node->value<std::int64_t>() > kNoLimit;
      s.error("model.conv", where,
              too_large ? fmt::format("{} must be an integer in [{}, {}], got {}", name, minimum,
                                      kNoLimit, s.written("model.conv", *node))
                        : fmt::format("{} must be an integer ≥ {}, got {}", name, minimum,
                                      s.written("model.conv", *node)));
      return fallback;
    }
    return int(*node->value<std::int64_t>());
  };
  ConvSpec conv;
  if (!entry.get("channels")) s.error("model.conv", where, "a conv layer needs channels");
  conv.channels = get("channels", 1, 1);
  conv.kernel = get("kernel", 3, 1);
  conv.stride = get("stride", 1, 1);
  conv.padding = get("padding", 0, 0);
  conv.pool = default_pool;
  if (const toml::node* pool = entry.get("pool")) {
    if (!pool->is_string()) {
      s.error("model.conv", where, "pool must be a string (none, avg2, max2)");
    } else {
      try {
        conv.pool = parse_pooling(std::string(*pool->value<std::string>()));
      } catch (const InputError& e) {
        s.error("model.conv", where, e.what());
      }
    }
  }
  return conv;
}

InitSpec init_spec(Settings& s, const std::string& prefix, const InitSpec* fallback) {
  InitSpec spec = fallback ? *fallback : InitSpec{};
  auto has = [&](const char* leaf) { return s.find(prefix + "." + leaf) != nullptr; };
  if (has("scheme")) spec.scheme = parse_enum(s, prefix + ".scheme", parse_init_scheme);
  if (has("std")) {
    spec.std = positive(s, prefix + ".std");
    if (fallback) spec.gamma.reset();
  }
  if (has("gamma")) {
    const double gamma = checked(
        s, prefix + ".gamma", [](double v) { return v >= 0; }, "a number ≥ 0");
    if (gamma > 0)
      spec.gamma = gamma;
    else if (!fallback)
      spec.gamma.reset();
  }
  if (has("fan")) {
    const std::string fan = s.text(prefix + ".fan");
    if (fan != "in" && fan != "out")
      s.wrong(prefix + ".fan", "\"in\" or \"out\"");
    else
      spec.gamma_fan_out = fan == "out";
  }
  return spec;
}

// A message of the data checks names the keys it is about ("data.train_size = 7 ..."): it is put
// where the first of them that the user set was written, else where the dataset was chosen.
std::string data_message_key(const Settings& s, const std::string& message) {
  std::string first, first_given;
  std::size_t first_at = std::string::npos, given_at = std::string::npos;
  for (const auto& k : config_keys()) {
    if (k.key.rfind("data.", 0) != 0) continue;
    for (std::size_t at = message.find(k.key); at != std::string::npos;
         at = message.find(k.key, at + 1)) {
      const std::size_t end = at + k.key.size();
      if (end < message.size() &&
          (std::isalnum(static_cast<unsigned char>(message[end])) || message[end] == '_'))
        continue;
      if (at < first_at) first_at = at, first = k.key;
      if (s.given(k.key) && at < given_at) given_at = at, first_given = k.key;
      break;
    }
  }
  if (!first_given.empty()) return first_given;
  // "data.path is required for mnist": about the dataset the user chose.
  return s.given("data.dataset") ? "data.dataset" : first;
}

void convert_data(Settings& s, DataSpec& d) {
  const std::size_t errors_before = s.error_count();
  d.dataset = parse_enum(s, "data.dataset", parse_dataset);
  d.path = s.text("data.path");
  d.train_size = to_int(s, "data.train_size", 0, kNoLimit);
  d.test_size = to_int(s, "data.test_size", -1, kNoLimit);
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
  if (s.ok({"data.sin_low", "data.sin_high"}) && !(d.sin.low < d.sin.high)) {
    if (s.given("data.sin_high") || !s.given("data.sin_low"))
      s.wrong("data.sin_high",
              fmt::format("greater than data.sin_low = {}", s.written("data.sin_low")));
    else
      s.wrong("data.sin_low",
              fmt::format("less than data.sin_high = {}", s.written("data.sin_high")));
  }
  const auto shape = s.integers("data.gaussian_shape");
  if (shape.size() == 3 &&
      std::all_of(shape.begin(), shape.end(), [](auto v) { return v >= 1 && v <= kNoLimit; })) {
    d.gaussian.shape = {int(shape[0]), int(shape[1]), int(shape[2])};
  } else if (s.ok("data.gaussian_shape")) {
    s.wrong("data.gaussian_shape", "[C, H, W] with positive sizes");
  }
  d.gaussian.classes = to_int(s, "data.gaussian_classes", 2, 1 << 16);
  d.gaussian.labels = s.text("data.gaussian_labels");
  if (d.gaussian.labels != "teacher" && d.gaussian.labels != "random") {
    if (s.ok("data.gaussian_labels")) s.wrong("data.gaussian_labels", "\"teacher\" or \"random\"");
    d.gaussian.labels = "teacher";
  }
  // The checks of the data module combine keys: meaningful only when each key is sound.
  if (s.error_count() != errors_before) return;
  try {
    validate(d);
  } catch (const InputError& e) {
    const std::string key = data_message_key(s, e.what());
    s.error(key, key.empty() || s.where(key) == "default" ? "config" : s.where(key), e.what());
  }
}

void convert_model(Settings& s, ModelSpec& m) {
  const Pooling pool = parse_enum(s, "model.pool", parse_pooling);
  const toml::node* conv = s.find("model.conv");
  if (!conv->is_array() || !std::all_of(conv->as_array()->begin(), conv->as_array()->end(),
                                        [](const toml::node& entry) { return entry.is_table(); })) {
    s.wrong("model.conv", "an array of tables like [{ channels = 16, kernel = 3 }]");
  } else {
    std::size_t index = 0;
    for (const auto& entry : *conv->as_array())
      m.conv.push_back(conv_entry(s, *entry.as_table(), index++, pool));
  }
  for (auto v : s.integers("model.hidden")) {
    if (v < 1 || v > kNoLimit) {
      s.wrong("model.hidden", "an array of positive widths");
      m.hidden.clear();
      break;
    }
    m.hidden.push_back(int(v));
  }
  const toml::node* activation = s.find("model.activation");
  std::vector<std::string> names;
  if (activation->is_string()) {
    names.push_back(s.text("model.activation"));
  } else if (activation->is_array() &&
             std::all_of(activation->as_array()->begin(), activation->as_array()->end(),
                         [](const toml::node& item) { return item.is_string(); })) {
    for (const auto& item : *activation->as_array()) names.emplace_back(*item.value<std::string>());
  } else {
    s.wrong("model.activation", "a name or an array of names");
  }
  for (const auto& name : names) {
    try {
      m.activations.push_back(parse_activation(name));
    } catch (const InputError& e) {
      s.error("model.activation", s.where("model.activation"),
              fmt::format("model.activation: {}", e.what()));
    }
  }
  if (s.ok({"model.activation", "model.conv", "model.hidden"}) && m.activations.size() != 1 &&
      int(m.activations.size()) != m.activated_layers())
    s.error("model.activation", s.where("model.activation"),
            fmt::format("model.activation lists {} names, but the model has {} conv and hidden "
                        "layers; give one name, or one per layer",
                        m.activations.size(), m.activated_layers()));
  if (m.activations.empty()) m.activations.push_back(parse_activation("tanh"));
  m.bias = s.boolean("model.bias");
  m.outputs = to_int(s, "model.outputs", 0, 1 << 20);
  m.residual = s.boolean("model.residual");
}

void convert_train(Settings& s, TrainConfig& t) {
  t.loss = parse_enum(s, "train.loss", parse_loss);
  OptimizerSpec& o = t.optimizer;
  o.kind = parse_enum(s, "train.optimizer", parse_optimizer);
  o.lr = positive(s, "train.lr");
  o.momentum = checked(
      s, "train.momentum", [](double v) { return v >= 0 && v < 1; }, "a number in [0, 1)");
  o.dampening = checked(
      s, "train.dampening", [](double v) { return v >= 0 && v <= 1; }, "a number in [0, 1]");
  o.nesterov = s.boolean("train.nesterov");
  std::vector<double> betas = s.numbers("train.betas");
  if (betas.size() != 2 || !(betas[0] >= 0 && betas[0] < 1) || !(betas[1] >= 0 && betas[1] < 1)) {
    if (s.ok("train.betas")) s.wrong("train.betas", "two numbers in [0, 1)");
    betas = {0.9, 0.999};
  }
  o.beta1 = betas[0];
  o.beta2 = betas[1];
  o.eps = positive(s, "train.eps");
  o.weight_decay = checked(
      s, "train.weight_decay", [](double v) { return v >= 0; }, "a number ≥ 0");
  const bool optimizer_ok = s.ok({"train.optimizer", "train.momentum"});
  if (optimizer_ok && o.kind == OptimizerKind::gd && o.momentum != 0)
    s.wrong("train.momentum", "0 for optimizer gd (use sgd for momentum)");
  if (optimizer_ok && s.ok("train.nesterov") && o.nesterov &&
      (o.kind != OptimizerKind::sgd || o.momentum <= 0))
    s.wrong("train.nesterov", "false unless optimizer = \"sgd\" with momentum > 0");
  else if (s.ok({"train.nesterov", "train.dampening"}) && o.nesterov && o.dampening != 0)
    s.wrong("train.nesterov", "false when train.dampening is not 0 (Nesterov momentum has none)");
  t.batch_size = to_int(s, "train.batch_size", 0, kNoLimit);
  if (s.ok({"train.optimizer", "train.batch_size"}) && o.kind == OptimizerKind::gd &&
      t.batch_size != 0)
    s.wrong("train.batch_size", "0 for optimizer gd (full-batch); use sgd for mini-batches");
  t.steps = to_long(s, "train.steps", 0);
  t.epochs = to_long(s, "train.epochs", 0);
  if (s.ok({"train.steps", "train.epochs"}) && t.steps == 0 && t.epochs == 0)
    s.wrong("train.steps",
            "an integer ≥ 1 (a run needs at least one step; or set train.epochs > 0)");
  o.schedule.kind = parse_enum(s, "train.schedule", parse_schedule);
  o.schedule.step_size = to_long(s, "train.step_size", 1);
  o.schedule.factor = positive(s, "train.step_factor");
  o.schedule.min_lr = checked(
      s, "train.min_lr", [](double v) { return v >= 0; }, "a number ≥ 0");
  t.eval_every = to_long(s, "train.eval_every", 1);
}

void convert_track(Settings& s, TrackConfig& k) {
  k.snapshots = s.text("track.snapshots");
  if (k.snapshots != "log" && k.snapshots != "none") {
    bool ok = k.snapshots.rfind("every:", 0) == 0 && k.snapshots.size() > 6;
    if (ok) {
      try {
        std::size_t used = 0;
        const long every = std::stol(k.snapshots.substr(6), &used);
        ok = used == k.snapshots.size() - 6 && every >= 1;
      } catch (const std::exception&) {
        ok = false;
      }
    }
    if (!ok) {
      if (s.ok("track.snapshots"))
        s.wrong("track.snapshots", "\"log\", \"every:K\" with K ≥ 1, or \"none\"");
      k.snapshots = "log";
    }
  }
  k.per_decade = to_int(s, "track.per_decade", 1, 1000);
  for (auto v : s.integers("track.extra_steps")) {
    if (v < 0) {
      s.wrong("track.extra_steps", "an array of steps ≥ 0");
      k.extra_steps.clear();
      break;
    }
    k.extra_steps.push_back(long(v));
  }
  k.threshold = checked(
      s, "track.threshold", [](double v) { return v > 0 && v < 1; }, "a number in (0, 1)");
  k.negligible = checked(
      s, "track.negligible", [](double v) { return v >= 0 && v < 1; }, "a number in [0, 1)");
  k.with_bias = s.boolean("track.with_bias");
  k.evaluate_at_snapshots = s.boolean("track.evaluate_at_snapshots");
  k.save_cosines = s.boolean("track.save_cosines");
}

RunConfig convert(Settings& s) {
  RunConfig c;
  c.seed = std::uint64_t(s.integer("seed"));
  c.dtype = parse_enum(s, "dtype", parse_dtype);
  c.threads = to_int(s, "threads", 0, 1024);
  convert_data(s, c.data);
  convert_model(s, c.model);
  c.init.all = init_spec(s, "init", nullptr);
  for (const auto& key : s.keys_under("init.layers.")) {
    const std::string layer = key.substr(12, key.find('.', 12) - 12);
    if (!c.init.layers.count(layer))
      c.init.layers[layer] = init_spec(s, "init.layers." + layer, &c.init.all);
  }
  convert_train(s, c.train);
  convert_track(s, c.track);
  return c;
}

// `saved`: the text is a run's config.toml, whose keys were checked when the run began; only the
// assignments can warn.
LoadedConfig load(const std::string& text, const std::string& origin,
                  const std::vector<std::string>& overrides,
                  const std::vector<std::string>& skip_tables = {},
                  const std::vector<ConfigAssignment>& assignments = {}, bool saved = false) {
  Settings settings;
  // [external] (a run trained outside condense) is read on its own, after the keys.
  std::vector<std::string> skip = skip_tables;
  skip.push_back("external");
  if (!text.empty() || !origin.empty()) settings.merge_file(text, origin, skip);
  for (const auto& a : assignments) settings.assign(a.assignment, a.origin);
  for (const auto& o : overrides) settings.assign(o);
  LoadedConfig loaded;
  loaded.config = convert(settings);
  config_detail::read_external(settings, loaded.config.external);
  loaded.warnings = config_detail::check_combinations(settings, loaded.config, !saved);
  loaded.changed = settings.changed_keys();
  const std::vector<std::string> errors = settings.errors();
  if (errors.size() == 1) throw InputError(errors.front());
  if (!errors.empty()) {
    std::string message = fmt::format("the config has {} errors:", errors.size());
    for (const auto& e : errors) message += "\n  " + e;
    throw InputError(message);
  }
  return loaded;
}

std::string read_config_file(const std::filesystem::path& path) {
  try {
    return read_file(path);
  } catch (const IoError& e) {
    fail_input("{}", e.what());
  }
}

}  // namespace

std::vector<std::string> series_warnings(const std::vector<LoadedConfig>& runs) {
  auto head = [](const std::string& warning) {
    return warning.substr(0, warning.find(config_detail::kNoEffect));
  };
  std::vector<std::string> kept, heads;
  for (const LoadedConfig& run : runs)
    for (const std::string& warning : run.warnings) {
      const std::string h = head(warning);
      if (std::find(heads.begin(), heads.end(), h) != heads.end()) continue;
      heads.push_back(h);
      // Every run that reads this setting must find it without effect.
      const bool everywhere = std::all_of(runs.begin(), runs.end(), [&](const LoadedConfig& r) {
        return std::find(r.changed.begin(), r.changed.end(), h) == r.changed.end() ||
               std::any_of(r.warnings.begin(), r.warnings.end(),
                           [&](const std::string& w) { return head(w) == h; });
      });
      if (everywhere) kept.push_back(warning);
    }
  return kept;
}

void check_config_key(const std::string& key, const std::string& origin) {
  Settings().check_key(key, origin);
}

LoadedConfig load_config_and_warnings(const std::filesystem::path& path,
                                      const std::vector<std::string>& overrides) {
  if (path.empty()) return load("", "", overrides);
  return load(read_config_file(path), path.string(), overrides);
}

LoadedConfig load_config_text_and_warnings(const std::string& text, const std::string& origin,
                                           const std::vector<std::string>& skip_tables,
                                           const std::vector<ConfigAssignment>& assignments,
                                           const std::vector<std::string>& overrides) {
  return load(text, origin, overrides, skip_tables, assignments);
}

LoadedConfig load_run_config_and_warnings(const std::string& text, const std::string& origin,
                                          const std::vector<std::string>& overrides) {
  return load(text, origin, overrides, {}, {}, true);
}

RunConfig load_config(const std::filesystem::path& path,
                      const std::vector<std::string>& overrides) {
  return load_config_and_warnings(path, overrides).config;
}

RunConfig load_config_text(const std::string& text, const std::string& origin,
                           const std::vector<std::string>& skip_tables,
                           const std::vector<ConfigAssignment>& assignments,
                           const std::vector<std::string>& overrides) {
  return load(text, origin, overrides, skip_tables, assignments).config;
}

RunConfig load_config_text(const std::string& text, const std::string& origin,
                           const std::vector<std::string>& overrides) {
  return load(text, origin, overrides, {}, {}, true).config;
}

}  // namespace condense
