#include "condense/pipeline/resume_policy.hpp"

#include <algorithm>
#include <map>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <toml++/toml.h>

#include "condense/core/error.hpp"

namespace condense {

namespace {

// The measure settings: changing them mid-run would mix two definitions in analysis.csv.
constexpr const char* kMeasureKeys[] = {"track.threshold", "track.negligible", "track.with_bias"};

// A value as the user would write it: numbers in their shortest exact form (0.05, not
// 0.050000000000000003), strings quoted, arrays in brackets.
std::string value_text(const toml::node& node) {
  if (node.is_string()) return fmt::format("\"{}\"", *node.value<std::string>());
  if (node.is_floating_point()) return fmt::format("{}", *node.value<double>());
  if (const toml::array* array = node.as_array()) {
    std::vector<std::string> items;
    for (const toml::node& item : *array) items.push_back(value_text(item));
    return fmt::format("[{}]", fmt::join(items, ", "));
  }
  if (const toml::table* table = node.as_table()) {
    std::vector<std::string> items;
    for (const auto& [name, item] : *table)
      items.push_back(fmt::format("{} = {}", name.str(), value_text(item)));
    return fmt::format("{{{}}}", fmt::join(items, ", "));
  }
  std::ostringstream out;
  node.visit([&](const auto& v) { out << v; });
  return out.str();
}

// Every leaf of a resolved config as "section.key" → its value in TOML (arrays whole).
void flatten(const toml::table& table, const std::string& prefix,
             std::map<std::string, std::string>& out) {
  for (const auto& [name, node] : table) {
    const std::string key = prefix.empty() ? std::string(name.str())
                                           : prefix + "." + std::string(name.str());
    if (node.is_table()) flatten(*node.as_table(), key, out);
    else out[key] = value_text(node);
  }
}

std::map<std::string, std::string> flattened(const RunConfig& config) {
  std::map<std::string, std::string> out;
  flatten(toml::parse(to_toml(config)), "", out);
  return out;
}

}  // namespace

const std::vector<std::string>& resumable_keys() {
  static const std::vector<std::string> keys = {
      "train.steps",          "train.epochs",     "train.eval_every",
      "track.snapshots",      "track.per_decade", "track.extra_steps",
      "track.evaluate_at_snapshots", "track.save_cosines", "threads"};
  return keys;
}

void check_resume_settings(const RunConfig& saved, const RunConfig& wanted,
                           const std::string& run) {
  const auto before = flattened(saved), after = flattened(wanted);
  std::vector<std::string> refused, measures;
  std::map<std::string, bool> all_keys;
  for (const auto& [key, value] : before) all_keys[key] = true;
  for (const auto& [key, value] : after) all_keys[key] = true;
  for (const auto& [key, unused] : all_keys) {
    const auto was = before.find(key), now = after.find(key);
    const std::string old_value = was == before.end() ? "(not set)" : was->second;
    const std::string new_value = now == after.end() ? "(not set)" : now->second;
    if (old_value == new_value) continue;
    const auto& allowed = resumable_keys();
    if (std::find(allowed.begin(), allowed.end(), key) != allowed.end()) continue;
    const std::string change = fmt::format("{} ({} → {})", key, old_value, new_value);
    if (std::find(std::begin(kMeasureKeys), std::end(kMeasureKeys), key) != std::end(kMeasureKeys))
      measures.push_back(change);
    else
      refused.push_back(change);
  }
  // A cosine schedule spans the run's steps: a new length changes the rate of steps taken.
  if (saved.train.optimizer.schedule.kind == ScheduleKind::cosine &&
      (saved.train.steps != wanted.train.steps || saved.train.epochs != wanted.train.epochs))
    refused.push_back(fmt::format(
        "train.steps/train.epochs ({} → {} steps, {} → {} epochs) with train.schedule = "
        "\"cosine\", whose learning rate at every step depends on the run's length",
        saved.train.steps, wanted.train.steps, saved.train.epochs, wanted.train.epochs));
  if (refused.empty() && measures.empty()) return;
  std::string message = fmt::format("cannot resume {} with these settings changed:", run);
  for (const auto& change : refused) message += "\n  " + change;
  for (const auto& change : measures) message += "\n  " + change;
  if (!refused.empty())
    message += fmt::format(
        "\na resumed run continues the same training: only {} may change. To train with other "
        "settings, start a new run (--out DIR), or train this one again with --overwrite",
        fmt::join(resumable_keys(), ", "));
  if (!measures.empty())
    message += fmt::format(
        "\nthe measures of analysis.csv keep one definition over a run: to measure it with "
        "other settings, run: condense analyze {} --threshold T --negligible F [--with-bias]",
        run);
  throw InputError(message);
}

void check_resume_steps(const RunConfig& wanted, long checkpoint_step, long saved_total,
                        long wanted_total, const std::string& run) {
  const char* key = wanted.train.epochs > 0 ? "train.epochs" : "train.steps";
  if (checkpoint_step > saved_total)
    fail_input("{}: the checkpoint is at step {}, beyond the run's {} steps: the checkpoint is "
               "damaged or belongs to another run",
               run, checkpoint_step, saved_total);
  if (wanted_total > checkpoint_step) return;
  if (checkpoint_step == saved_total && wanted_total == saved_total)
    fail_input("{} is complete (step {} of {}): there is nothing to continue; to train it "
               "further, extend it: condense train --resume {} --set {}=N with more steps",
               run, checkpoint_step, saved_total, run, key);
  fail_input("{}: {} gives {} steps, but the run is at step {}: a resumed run can only be "
             "extended, to more than {} steps",
             run, key, wanted_total, checkpoint_step, checkpoint_step);
}

}  // namespace condense
