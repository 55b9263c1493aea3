// Keys that have no effect on a run (data.sin_dim on fashion-mnist, train.betas with sgd, ...):
// a warning each, naming the key, where it was set and why it does not apply. Only keys set to a
// value other than their default warn, so a run directory's config.toml, which writes every key
// out, warns only about what was set. Per-layer init overrides name layers of the model: one that
// names no layer is an error.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

#include "condense/config/settings.hpp"

namespace condense::config_detail {

namespace {

// The layers with weights, as the model names them (nn/model.cpp).
std::vector<std::string> weight_layers(const ModelSpec& model) {
  std::vector<std::string> names;
  for (std::size_t i = 0; i < model.conv.size(); ++i) names.push_back(fmt::format("conv{}", i + 1));
  for (std::size_t i = 0; i <= model.hidden.size(); ++i)
    names.push_back(fmt::format("fc{}", i + 1));
  return names;
}

bool draws_with_std(InitScheme scheme) {
  return scheme == InitScheme::normal || scheme == InitScheme::uniform;
}

class Warnings {
 public:
  Warnings(const Settings& settings, bool file_keys) : s_(settings), file_keys_(file_keys) {}
  // Warns about `key` if the user set it to something other than its default.
  void add(const std::string& key, const std::string& why) {
    if (s_.changed(key) && s_.ok(key) && (file_keys_ || !s_.from_file(key)))
      list_.push_back(fmt::format("{}: {}{}{}", s_.where(key), key, kNoEffect, why));
  }
  std::vector<std::string> list() && { return std::move(list_); }

 private:
  const Settings& s_;
  bool file_keys_;
  std::vector<std::string> list_;
};

void data_warnings(const Settings& s, const DataSpec& d, Warnings& warn) {
  if (s.ok("data.dataset")) {
    const std::string dataset = dataset_name(d.dataset);
    if (d.dataset != DatasetKind::sin)
      for (const char* key : {"data.sin_dim", "data.sin_amplitude", "data.sin_frequency",
                              "data.sin_phase", "data.sin_low", "data.sin_high"})
        warn.add(key, fmt::format("it applies to data.dataset = \"sin\", and the dataset is \"{}\"",
                                  dataset));
    if (d.dataset != DatasetKind::gaussian)
      for (const char* key :
           {"data.gaussian_shape", "data.gaussian_classes", "data.gaussian_labels"})
        warn.add(key,
                 fmt::format("it applies to data.dataset = \"gaussian\", and the dataset is \"{}\"",
                             dataset));
    if (d.dataset == DatasetKind::sin)
      warn.add("data.normalize", "sin inputs are used as drawn, without normalization");
  }
  if (s.ok("data.target") && d.target != TargetKind::binary)
    warn.add("data.positive_classes",
             fmt::format("it applies to data.target = \"binary\", and the target is \"{}\"",
                         target_name(d.target)));
}

void model_warnings(const Settings& s, const RunConfig& c, Warnings& warn) {
  const ModelSpec& m = c.model;
  if (s.ok("model.conv")) {
    const toml::array& entries = *s.find("model.conv")->as_array();
    if (m.conv.empty())
      warn.add("model.pool", "the model has no conv layers (model.conv = [])");
    else if (std::all_of(entries.begin(), entries.end(),
                         [](const toml::node& e) { return e.as_table()->contains("pool"); }))
      warn.add("model.pool", "every model.conv entry sets its own pool");
  }
  if (s.ok("model.hidden") && m.residual && m.hidden.size() < 2)
    warn.add("model.residual",
             fmt::format("the residual blocks are the hidden layers after the first, and "
                         "model.hidden has {} layer{}",
                         m.hidden.size(), m.hidden.size() == 1 ? "" : "s"));
  if (s.ok("model.bias") && !m.bias)
    warn.add("track.with_bias", "the model has no biases (model.bias = false)");
}

// Which [init] keys some layer takes (a per-layer override may set its own), and the error of an
// override that names no layer of the model.
void init_checks(Settings& s, const RunConfig& c, Warnings& warn) {
  if (!s.ok({"model.conv", "model.hidden"})) return;
  const std::vector<std::string> layers = weight_layers(c.model);
  for (const auto& [name, spec] : c.init.layers)
    if (std::find(layers.begin(), layers.end(), name) == layers.end()) {
      const std::string first = s.keys_under("init.layers." + name + ".").front();
      s.error("init.layers." + name, s.where(first),
              fmt::format("init.layers.{}: the model has no layer {}; its layers are {}", name,
                          name, fmt::join(layers, ", ")));
    }
  if (!s.ok({"init.scheme", "init.std", "init.gamma", "init.fan"})) return;
  // A layer takes an [init] key unless its override sets a value of its own (the saved
  // config.toml writes the inherited values into every override).
  auto takes = [&](const std::string& layer, const char* leaf) {
    const std::string key = "init.layers." + layer + "." + leaf;
    return !s.given(key) || s.same(key, std::string("init.") + leaf);
  };
  bool scheme_taken = false, std_taken = false, gamma_taken = false, fan_taken = false;
  for (const auto& layer : layers) {
    const auto it = c.init.layers.find(layer);
    const InitSpec& spec = it == c.init.layers.end() ? c.init.all : it->second;
    scheme_taken |= takes(layer, "scheme");
    if (!draws_with_std(spec.scheme)) continue;
    std_taken |= !spec.gamma && takes(layer, "std");
    // A per-layer std drops the inherited gamma.
    const bool gamma_inherited =
        takes(layer, "gamma") &&
        (s.given("init.layers." + layer + ".gamma") || takes(layer, "std"));
    gamma_taken |= spec.gamma && gamma_inherited;
    fan_taken |= spec.gamma && takes(layer, "fan");
  }
  const InitSpec& all = c.init.all;
  const std::string own_std = fmt::format("init.scheme = \"{}\" sets its own standard deviation",
                                          init_scheme_name(all.scheme));
  const std::string overridden = "every layer sets its own in [init.layers]";
  if (!scheme_taken) warn.add("init.scheme", overridden);
  if (!std_taken)
    warn.add("init.std", !draws_with_std(all.scheme) ? own_std
                         : all.gamma ? fmt::format("init.gamma = {} > 0 sets the standard "
                                                   "deviation (fan^-gamma)",
                                                   s.written("init.gamma"))
                                     : overridden);
  if (!gamma_taken) warn.add("init.gamma", !draws_with_std(all.scheme) ? own_std : overridden);
  if (!fan_taken)
    warn.add("init.fan",
             "it applies with init.gamma > 0, and no layer's standard deviation comes "
             "from init.gamma");
}

void train_warnings(const Settings& s, const RunConfig& c, Warnings& warn) {
  const TrainConfig& t = c.train;
  const OptimizerSpec& o = t.optimizer;
  if (s.ok("train.optimizer")) {
    const std::string optimizer = optimizer_name(o.kind);
    if (o.kind == OptimizerKind::adam)
      warn.add("train.momentum",
               "it applies to optimizer = \"sgd\", and the optimizer is \"adam\"");
    if (o.kind != OptimizerKind::sgd)
      warn.add(
          "train.dampening",
          fmt::format("it applies to optimizer = \"sgd\", and the optimizer is \"{}\"", optimizer));
    else if (s.ok("train.momentum") && o.momentum == 0)
      warn.add("train.dampening", "it applies with train.momentum > 0, and momentum is 0");
    if (o.kind != OptimizerKind::adam)
      for (const char* key : {"train.betas", "train.eps"})
        warn.add(key, fmt::format("it applies to optimizer = \"adam\", and the optimizer is \"{}\"",
                                  optimizer));
  }
  if (s.ok("train.epochs") && t.epochs > 0)
    warn.add("train.steps", fmt::format("train.epochs = {} sets the length of the run", t.epochs));
  if (s.ok("train.schedule")) {
    const std::string schedule = schedule_name(o.schedule.kind);
    if (o.schedule.kind != ScheduleKind::step)
      for (const char* key : {"train.step_size", "train.step_factor"})
        warn.add(key, fmt::format("it applies to schedule = \"step\", and the schedule is \"{}\"",
                                  schedule));
    if (o.schedule.kind != ScheduleKind::cosine)
      warn.add(
          "train.min_lr",
          fmt::format("it applies to schedule = \"cosine\", and the schedule is \"{}\"", schedule));
  }
}

void track_warnings(const Settings& s, const RunConfig& c, Warnings& warn) {
  const TrackConfig& k = c.track;
  if (s.ok("track.snapshots") && k.snapshots != "log")
    warn.add("track.per_decade",
             fmt::format("it applies to track.snapshots = \"log\", and snapshots is \"{}\"",
                         k.snapshots));
  // With epochs the last step depends on the data; with steps it is known.
  if (s.ok({"track.extra_steps", "train.steps", "train.epochs"}) && c.train.epochs == 0) {
    std::vector<long> late;
    for (long step : k.extra_steps)
      if (step > c.train.steps) late.push_back(step);
    if (!late.empty())
      warn.add("track.extra_steps",
               fmt::format("the run ends at step {} (train.steps), before step{} {}", c.train.steps,
                           late.size() == 1 ? "" : "s", fmt::join(late, ", ")));
  }
}

}  // namespace

std::vector<std::string> check_combinations(Settings& settings, const RunConfig& config,
                                            bool warn_file_keys) {
  Warnings warn(settings, warn_file_keys);
  data_warnings(settings, config.data, warn);
  model_warnings(settings, config, warn);
  init_checks(settings, config, warn);
  train_warnings(settings, config, warn);
  track_warnings(settings, config, warn);
  return std::move(warn).list();
}

}  // namespace condense::config_detail
