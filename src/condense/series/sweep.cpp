#include "condense/series/sweep.hpp"
#include "condense/rundir/summary.hpp"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <map>
#include <set>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <toml++/toml.h>

#include "condense/core/exit_codes.hpp"
#include "condense/pipeline/train_run.hpp"
#include "condense/series/toml_input.hpp"
#include "condense/core/atomic_file.hpp"
#include "condense/core/error.hpp"
#include "condense/rundir/layout.hpp"

extern char** environ;

namespace condense {

namespace fs = std::filesystem;

namespace {

std::optional<double> number_of(const toml::node& node) {
  if (node.is_floating_point()) return *node.value<double>();
  if (node.is_integer()) return double(*node.value<std::int64_t>());
  return std::nullopt;
}

// Whether config key `key` holds an integer (from its default value).
bool integer_key(const std::string& key) {
  for (const auto& k : config_keys())
    if (k.key == key) {
      toml::table parsed = toml::parse("v = " + k.default_value);
      return parsed.get("v")->is_integer();
    }
  return false;
}

std::string toml_text(const toml::node& node) {
  std::ostringstream out;
  out << toml::toml_formatter{node};
  return out.str();
}

// Labels for numbers: the shortest of 4, 6, 8, 12 significant digits that tells them apart.
std::vector<std::string> number_labels(const std::vector<double>& numbers) {
  for (int digits : {4, 6, 8, 12}) {
    std::vector<std::string> labels;
    for (double v : numbers) labels.push_back(fmt::format("{:.{}g}", v, digits));
    if (std::set<std::string>(labels.begin(), labels.end()).size() == labels.size()) return labels;
  }
  std::vector<std::string> labels;
  for (double v : numbers) labels.push_back(fmt::format("{:.17g}", v));
  return labels;
}

// An axis's values from `values = [...]`, `linear = {from, to, num}` or `log = {from, to, num}`.
void read_axis_values(const fs::path& file, const toml::table& entry, SweepAxis& axis,
                      const toml::node* quick) {
  const char* kinds[] = {"values", "linear", "log"};
  const toml::node* spec = nullptr;
  std::string kind;
  for (const char* k : kinds)
    if (const toml::node* node = entry.get(k)) {
      if (spec)
        fail_input("{}: axis {} has both {} and {}; give one of values, linear, log",
                   where(file, *node), axis.key, kind, k);
      spec = node;
      kind = k;
    }
  if (quick) {
    spec = quick;
    kind = "values";
  }
  if (!spec)
    fail_input("{}: axis {} needs its values: values = [...], linear = {{ from, to, num }} or "
               "log = {{ from, to, num }}",
               where(file, entry), axis.key);
  const bool integer = integer_key(axis.key);
  std::vector<double> numbers;
  if (kind == "values") {
    const toml::array* array = spec->as_array();
    if (!array)
      fail_input("{}: {}.{} must be an array of values", where(file, *spec), axis.key,
                 quick ? "quick" : "values");
    if (array->empty())
      fail_input("{}: axis {} is empty; give it at least one value", where(file, *spec), axis.key);
    bool all_numbers = true;
    for (const auto& item : *array) {
      axis.values.push_back(toml_text(item));
      const std::optional<double> n = number_of(item);
      axis.numbers.push_back(n.value_or(NAN));
      all_numbers = all_numbers && n.has_value();
      if (item.is_string()) {
        axis.labels.push_back(std::string(*item.value<std::string>()));
      } else if (const toml::array* inner = item.as_array();
                 inner && std::all_of(inner->begin(), inner->end(),
                                      [](const toml::node& e) { return e.is_value() && !e.is_string(); })) {
        // [50, 20] → "50-20": the hidden widths of an MLP, say.
        std::string label;
        for (const auto& element : *inner) label += (label.empty() ? "" : "-") + toml_text(element);
        axis.labels.push_back(label.empty() ? "none" : label);
      } else if (item.is_array() || item.is_table()) {
        axis.labels.push_back("");
      } else {
        axis.labels.push_back(toml_text(item));
      }
    }
    if (all_numbers) axis.labels = number_labels(axis.numbers);
    for (std::size_t i = 0; i < axis.labels.size(); ++i)
      if (axis.labels[i].empty()) axis.labels[i] = fmt::format("v{}", i);
  } else {
    const toml::table* range = spec->as_table();
    if (!range)
      fail_input("{}: {}.{} must be a table {{ from = ..., to = ..., num = ... }}",
                 where(file, *spec), axis.key, kind);
    check_keys(file, *range, fmt::format("axis {}'s {} range", axis.key, kind),
               {"from", "to", "num"});
    std::optional<double> from, to;
    std::optional<std::int64_t> num;
    if (const toml::node* n = range->get("from")) from = number_of(*n);
    if (const toml::node* n = range->get("to")) to = number_of(*n);
    if (const toml::node* n = range->get("num"); n && n->is_integer())
      num = *n->value<std::int64_t>();
    if (!from || !to || !num || !std::isfinite(*from) || !std::isfinite(*to))
      fail_input("{}: axis {}: a {} range needs from and to (numbers) and num (an integer)",
                 where(file, *spec), axis.key, kind);
    if (*num < 1)
      fail_input("{}: axis {} is empty (num = {}); give it at least one value", where(file, *spec),
                 axis.key, *num);
    if (kind == "log" && !(*from > 0 && *to > 0))
      fail_input("{}: axis {}: a log range needs from > 0 and to > 0, got {} and {}",
                 where(file, *spec), axis.key, *from, *to);
    axis.log = kind == "log";
    for (std::int64_t i = 0; i < *num; ++i) {
      const double t = *num == 1 ? 0.0 : double(i) / double(*num - 1);
      double v = axis.log ? std::exp(std::log(*from) + t * (std::log(*to) - std::log(*from)))
                          : *from + t * (*to - *from);
      v = std::stod(fmt::format("{:.12g}", v));  // 0.25 + 9 * 0.25 is 2.5, not 2.4999999999999996
      if (integer) v = std::round(v);
      numbers.push_back(v);
    }
    if (integer && std::set<double>(numbers.begin(), numbers.end()).size() != numbers.size())
      fail_input("{}: axis {} holds integers, and its range rounds to repeated values ({}); use "
                 "fewer points or a list of values",
                 where(file, *spec), axis.key, fmt::join(numbers, ", "));
    axis.numbers = numbers;
    for (double v : numbers)
      axis.values.push_back(integer ? fmt::format("{}", std::int64_t(v)) : fmt::format("{:.17g}", v));
    axis.labels = integer ? axis.values : number_labels(numbers);
  }
  if (std::set<std::string>(axis.values.begin(), axis.values.end()).size() != axis.values.size())
    fail_input("{}: axis {} repeats a value", where(file, *spec), axis.key);
  if (const toml::node* node = entry.get(quick ? "quick_labels" : "labels")) {
    const toml::array* labels = node->as_array();
    if (!labels || labels->size() != axis.values.size() ||
        !std::all_of(labels->begin(), labels->end(), [](const toml::node& n) { return n.is_string(); }))
      fail_input("{}: axis {}: {} must be {} strings, one per value", where(file, *node),
                 axis.key, quick ? "quick_labels" : "labels", axis.values.size());
    axis.labels.clear();
    axis.labelled = true;
    for (const auto& label : *labels) axis.labels.push_back(std::string(*label.value<std::string>()));
    // Numeric labels are the axis's coordinates (for marks): labels = ["0.5", "1"] over
    // gamma = [0.25, 0.5] puts a mark at 1 on the second value.
    std::vector<double> coordinates;
    for (const auto& label : axis.labels) {
      try {
        std::size_t used = 0;
        const double v = std::stod(label, &used);
        if (used == label.size()) coordinates.push_back(v);
      } catch (const std::exception&) {
      }
    }
    if (coordinates.size() == axis.labels.size()) axis.numbers = coordinates;
  }
  if (std::set<std::string>(axis.labels.begin(), axis.labels.end()).size() != axis.labels.size())
    fail_input("{}: axis {} has repeated labels ({}); give it distinct labels = [...]",
               where(file, entry), axis.key, fmt::join(axis.labels, ", "));
}

SweepMark read_mark(const fs::path& file, const toml::node& item) {
  const toml::table* table = item.as_table();
  if (!table)
    fail_input("{}: sweep.figures marks are tables like {{ x = 1.0, label = \"γ = 1\" }}",
               where(file, item));
  check_keys(file, *table, "a mark", {"x", "y", "label"});
  SweepMark mark;
  const toml::node* x = table->get("x");
  const toml::node* y = table->get("y");
  if ((x == nullptr) == (y == nullptr) || !number_of(x ? *x : *y))
    fail_input("{}: a mark needs one number, x or y", where(file, item));
  mark.axis = x ? 'x' : 'y';
  mark.at = *number_of(x ? *x : *y);
  mark.label = optional_string(file, *table, "label", "mark").value_or("");
  return mark;
}

std::size_t axis_index(const Sweep& sweep, const std::string& key, const fs::path& file,
                       const toml::node& node, const std::string& what) {
  for (std::size_t a = 0; a < sweep.axes.size(); ++a)
    if (sweep.axes[a].key == key || sweep.axes[a].name == key) return a;
  std::vector<std::string> keys;
  for (const auto& axis : sweep.axes) keys.push_back(axis.key);
  fail_input("{}: {}: no axis \"{}\"; the axes are {}", where(file, node), what, key,
             fmt::join(keys, ", "));
}

const std::vector<std::string>& run_metrics() {
  static const std::vector<std::string> metrics = {
      "train_loss", "train_acc", "test_loss", "test_acc", "min_train_loss", "max_train_acc",
      "min_test_loss", "max_test_acc", "training_seconds", "steps"};
  return metrics;
}

fs::path error_file(const fs::path& out, const std::string& name) {
  return out / "errors" / (name + ".txt");
}

std::atomic<int> g_sweep_signal{0};
extern "C" void sweep_stop(int signal) { g_sweep_signal.store(signal); }

}  // namespace

int available_cores() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return std::max(1, CPU_COUNT(&set));
  return std::max(1u, std::thread::hardware_concurrency());
}

Sweep load_sweep(const fs::path& file, const SweepOptions& options) {
  const TomlFile parsed = read_toml_file(file);
  const std::string& text = parsed.text;
  const toml::table& table = parsed.table;
  const toml::table* spec = table.get_as<toml::table>("sweep");
  if (!spec && table.get_as<toml::table>("experiment"))
    fail_input("{}: this is an experiment file; run it with: condense run {}", file.string(),
               file.string());
  if (!spec)
    fail_input("{}: no [sweep] table; a sweep file is a run config plus [sweep] with its axes "
               "(docs/sweeps.md)",
               file.string());
  check_keys(file, *spec,
             "[sweep]", {"title", "description", "seeds", "quick", "run_reports", "axes", "figures"});
  Sweep sweep;
  sweep.file = file;
  sweep.title = optional_string(file, *spec, "title", "sweep").value_or(file.stem().string());
  sweep.description = optional_string(file, *spec, "description", "sweep").value_or("");
  if (const toml::node* node = spec->get("run_reports")) {
    if (!node->is_boolean())
      fail_input("{}: sweep.run_reports must be true or false", where(file, *node));
    sweep.run_reports = *node->value<bool>();
  }
  std::vector<ConfigAssignment> quick;
  if (const toml::node* node = spec->get("quick"); node && options.quick) {
    const toml::array* array = node->as_array();
    if (!array)
      fail_input("{}: sweep.quick must be an array of \"key=value\" strings", where(file, *node));
    for (const auto& item : *array) {
      if (!item.is_string())
        fail_input("{}: sweep.quick must be an array of \"key=value\" strings", where(file, item));
      quick.push_back({std::string(*item.value<std::string>()),
                       fmt::format("{} (sweep.quick)", where(file, item))});
    }
  }

  // Axes.
  const toml::node* axes_node = spec->get("axes");
  const toml::array* axes = axes_node ? axes_node->as_array() : nullptr;
  if (axes_node && !axes)
    fail_input("{}: sweep.axes must be [[sweep.axes]] tables", where(file, *axes_node));
  std::vector<std::string> zips;
  if (axes)
    for (const auto& item : *axes) {
      const toml::table* entry = item.as_table();
      if (!entry) fail_input("{}: sweep.axes entries must be tables", where(file, item));
      check_keys(file, *entry, "a [[sweep.axes]] entry",
                 {"key", "values", "linear", "log", "quick", "zip", "name", "labels", "quick_labels"});
      SweepAxis axis;
      const std::optional<std::string> key = optional_string(file, *entry, "key", "sweep.axes");
      if (!key) fail_input("{}: a [[sweep.axes]] entry needs key, a config key", where(file, item));
      axis.key = *key;
      check_config_key(axis.key, where(file, item) + " (sweep.axes)");
      for (const auto& other : sweep.axes)
        if (other.key == axis.key)
          fail_input("{}: two axes set {}; give each key one axis", where(file, item), axis.key);
      read_axis_values(file, *entry, axis, options.quick ? entry->get("quick") : nullptr);
      axis.name = optional_string(file, *entry, "name", "sweep.axes").value_or("");
      if (!axis.name.empty() && axis.name != folder_name(axis.name))
        fail_input("{}: axis name \"{}\" must be letters, digits, '.', '-' or '_'",
                   where(file, item), axis.name);
      zips.push_back(optional_string(file, *entry, "zip", "sweep.axes").value_or(""));
      sweep.axes.push_back(std::move(axis));
    }
  if (const toml::node* node = spec->get("seeds")) {
    SweepAxis axis;
    axis.key = "seed";
    if (node->is_integer()) {
      const std::int64_t n = *node->value<std::int64_t>();
      if (n < 1) fail_input("{}: sweep.seeds = {} gives no run; give a count ≥ 1 or a list",
                            where(file, *node), n);
      for (std::int64_t s = 0; s < n; ++s) axis.values.push_back(std::to_string(s));
    } else if (const toml::array* list = node->as_array()) {
      if (list->empty()) fail_input("{}: sweep.seeds is empty", where(file, *node));
      for (const auto& item : *list) {
        if (!item.is_integer() || *item.value<std::int64_t>() < 0)
          fail_input("{}: sweep.seeds must hold integers ≥ 0", where(file, item));
        axis.values.push_back(std::to_string(*item.value<std::int64_t>()));
      }
    } else {
      fail_input("{}: sweep.seeds must be a count or a list of seeds", where(file, *node));
    }
    for (const auto& other : sweep.axes)
      if (other.key == "seed")
        fail_input("{}: sweep.seeds and an axis on seed; use one of them", where(file, *node));
    axis.labels = axis.values;
    for (const auto& v : axis.values) axis.numbers.push_back(std::stod(v));
    sweep.axes.push_back(std::move(axis));
    zips.push_back("");
  }
  if (sweep.axes.empty())
    fail_input("{}: the sweep has no axes; add [[sweep.axes]] tables (key and values) or seeds",
               file.string());
  // Zipped axes follow their leader.
  for (std::size_t a = 0; a < sweep.axes.size(); ++a) {
    if (zips[a].empty()) continue;
    const toml::node& entry = *axes->get(a);
    const std::size_t leader = axis_index(sweep, zips[a], file, entry, "zip");
    if (leader == a || !zips[leader].empty())
      fail_input("{}: axis {} is zipped with {}, which is itself zipped or the same axis; zip "
                 "every axis of a group with one leader",
                 where(file, entry), sweep.axes[a].key, zips[a]);
    if (sweep.axes[leader].values.size() != sweep.axes[a].values.size())
      fail_input("{}: axis {} ({} values) is zipped with {} ({} values); zipped axes need the same "
                 "number of values",
                 where(file, entry), sweep.axes[a].key, sweep.axes[a].values.size(),
                 sweep.axes[leader].key, sweep.axes[leader].values.size());
    sweep.axes[a].leader = int(leader);
  }
  // Short names: the key's last part, unless two axes share it.
  for (auto& axis : sweep.axes) {
    if (!axis.name.empty()) continue;
    const std::string last = axis.key.substr(axis.key.rfind('.') + 1);
    const bool shared = std::count_if(sweep.axes.begin(), sweep.axes.end(), [&](const SweepAxis& o) {
                          return o.key.substr(o.key.rfind('.') + 1) == last;
                        }) > 1;
    axis.name = shared ? axis.key : last;
  }

  // Runs: the cross product of the leading axes, the first outermost.
  std::vector<std::size_t> dims;
  for (std::size_t a = 0; a < sweep.axes.size(); ++a)
    if (sweep.axes[a].leader < 0) dims.push_back(a);
  std::size_t total = 1;
  for (std::size_t a : dims) total *= sweep.axes[a].values.size();
  std::set<std::string> names;
  std::vector<LoadedConfig> loaded_runs;
  for (std::size_t r = 0; r < total; ++r) {
    SweepRun run;
    run.value.assign(sweep.axes.size(), 0);
    std::size_t rest = r;
    for (std::size_t d = dims.size(); d-- > 0;) {
      const std::size_t n = sweep.axes[dims[d]].values.size();
      run.value[dims[d]] = rest % n;
      rest /= n;
    }
    for (std::size_t a = 0; a < sweep.axes.size(); ++a)
      if (sweep.axes[a].leader >= 0) run.value[a] = run.value[std::size_t(sweep.axes[a].leader)];
    std::vector<ConfigAssignment> settings = quick;
    for (std::size_t a = 0; a < sweep.axes.size(); ++a) {
      const SweepAxis& axis = sweep.axes[a];
      run.name += (a ? "_" : "") + axis.name + "=" + axis.labels[run.value[a]];
      settings.push_back({axis.key + "=" + axis.values[run.value[a]],
                          fmt::format("{} (axis {})", file.string(), axis.key)});
    }
    run.name = folder_name(run.name);
    if (!names.insert(run.name).second)
      fail_input("{}: two runs would share the folder {}; give the axes distinct values or names",
                 file.string(), run.name);
    try {
      LoadedConfig loaded = load_config_text_and_warnings(text, file.string(), {"sweep"}, settings,
                                                          options.overrides);
      run.config = loaded.config;
      loaded_runs.push_back(std::move(loaded));
    } catch (const InputError& e) {
      run.error = e.what();
    }
    sweep.runs.push_back(std::move(run));
  }
  sweep.warnings = series_warnings(loaded_runs);
  // An unknown key or bad value in the shared part fails every run: say it once, up front.
  if (std::none_of(sweep.runs.begin(), sweep.runs.end(), [](const SweepRun& r) { return r.config.has_value(); }))
    fail_input("no run of the sweep has a valid config; the first ({}): {}", sweep.runs.front().name,
               sweep.runs.front().error);

  // Figures.
  if (const toml::node* node = spec->get("figures")) {
    const toml::array* array = node->as_array();
    if (!array) fail_input("{}: sweep.figures must be [[sweep.figures]] tables", where(file, *node));
    for (const auto& item : *array) {
      const toml::table* entry = item.as_table();
      if (!entry) fail_input("{}: sweep.figures entries must be tables", where(file, item));
      check_keys(file, *entry, "a [[sweep.figures]] entry",
                 {"x", "y", "metric", "layer", "log_color", "marks", "where", "name"});
      SweepFigure figure;
      const std::optional<std::string> x = optional_string(file, *entry, "x", "sweep.figures");
      if (!x) fail_input("{}: a [[sweep.figures]] entry needs x, an axis key", where(file, item));
      figure.x = axis_index(sweep, *x, file, item, "sweep.figures.x");
      if (const std::optional<std::string> y = optional_string(file, *entry, "y", "sweep.figures")) {
        figure.y = axis_index(sweep, *y, file, item, "sweep.figures.y");
        if (*figure.y == figure.x)
          fail_input("{}: sweep.figures: x and y are the same axis", where(file, item));
      }
      figure.metric = optional_string(file, *entry, "metric", "sweep.figures").value_or("");
      const auto& measures = layer_measures();
      if (std::find(measures.begin(), measures.end(), figure.metric) == measures.end() &&
          std::find(run_metrics().begin(), run_metrics().end(), figure.metric) == run_metrics().end())
        fail_input("{}: sweep.figures: unknown metric \"{}\"; expected one of {}, {}",
                   where(file, item), figure.metric, fmt::join(measures, ", "),
                   fmt::join(run_metrics(), ", "));
      figure.layer = optional_string(file, *entry, "layer", "sweep.figures").value_or("");
      if (const toml::node* log = entry->get("log_color")) {
        if (!log->is_boolean())
          fail_input("{}: sweep.figures.log_color must be true or false", where(file, *log));
        figure.log_color = *log->value<bool>();
      }
      if (const toml::node* marks = entry->get("marks")) {
        if (!marks->is_array())
          fail_input("{}: sweep.figures.marks must be an array of tables", where(file, *marks));
        for (const auto& mark : *marks->as_array()) figure.marks.push_back(read_mark(file, mark));
      }
      if (const toml::node* filter = entry->get("where")) {
        if (!filter->is_array())
          fail_input("{}: sweep.figures.where must be an array of \"key=value\" strings",
                     where(file, *filter));
        for (const auto& condition : *filter->as_array()) {
          const std::string text_of = condition.is_string() ? std::string(*condition.value<std::string>()) : "";
          const auto eq = text_of.find('=');
          if (eq == std::string::npos)
            fail_input("{}: sweep.figures.where entries are \"key=value\" strings",
                       where(file, condition));
          const std::size_t a = axis_index(sweep, text_of.substr(0, eq), file, condition,
                                           "sweep.figures.where");
          const std::string value = text_of.substr(eq + 1);
          const auto& labels = sweep.axes[a].labels;
          const auto it = std::find(labels.begin(), labels.end(), value);
          if (it == labels.end())
            fail_input("{}: sweep.figures.where: axis {} has no value {}; its values are {}",
                       where(file, condition), sweep.axes[a].key, value, fmt::join(labels, ", "));
          figure.where.emplace_back(a, std::size_t(it - labels.begin()));
        }
      }
      figure.name = optional_string(file, *entry, "name", "sweep.figures").value_or("");
      sweep.figures.push_back(std::move(figure));
    }
  } else {
    // Default: the first two axes of their own (not seeds), by condensation and by RD.
    std::vector<std::size_t> own;
    for (std::size_t a = 0; a < sweep.axes.size(); ++a)
      if (sweep.axes[a].leader < 0 && sweep.axes[a].key != "seed") own.push_back(a);
    if (!own.empty())
      for (const char* metric : {"max_mean_abs_cos", "max_rd"}) {
        SweepFigure figure;
        figure.x = own[0];
        if (own.size() > 1) figure.y = own[1];
        figure.metric = metric;
        sweep.figures.push_back(figure);
      }
  }
  for (auto& figure : sweep.figures) {
    if (!figure.name.empty()) {
      if (figure.name != folder_name(figure.name))
        fail_input("{}: sweep.figures name \"{}\" cannot be a file name", file.string(), figure.name);
      continue;
    }
    figure.name = figure.metric + (figure.layer.empty() ? "" : "_" + figure.layer) + "_" +
                  sweep.axes[figure.x].name + (figure.y ? "_" + sweep.axes[*figure.y].name : "");
    for (const auto& [a, v] : figure.where)
      figure.name += "_" + sweep.axes[a].name + "=" + sweep.axes[a].labels[v];
    figure.name = folder_name(figure.name);
  }
  for (std::size_t i = 0; i < sweep.figures.size(); ++i)
    for (std::size_t j = 0; j < i; ++j)
      if (sweep.figures[i].name == sweep.figures[j].name)
        fail_input("{}: two figures are named \"{}\"; give them distinct names", file.string(),
                   sweep.figures[i].name);
  return sweep;
}

std::string recorded_error(const fs::path& out, const std::string& name) {
  const fs::path file = error_file(out, name);
  std::string error;
  try {
    if (fs::exists(file)) error = read_file(file);
  } catch (const std::exception&) {
  }
  while (!error.empty() && error.back() == '\n') error.pop_back();
  return error;
}

bool sweep_run_done(const Sweep& sweep, std::size_t index, const fs::path& out) {
  const SweepRun& run = sweep.runs[index];
  if (!run.config) return false;
  const fs::path root = out / run.name;
  const std::optional<RunStatus> status = recorded_status(root);
  return status && status != RunStatus::interrupted && same_settings(root, *run.config);
}

SweepPlan plan_sweep(const Sweep& sweep, const fs::path& out, int shard, int shards) {
  SweepPlan plan;
  for (std::size_t i = 0; i < sweep.runs.size(); ++i) {
    if (int(i % std::size_t(shards)) != shard) continue;
    ++plan.runs;
    if (!sweep.runs[i].config) {
      plan.invalid.push_back(i);
      // Recorded like any failed run's error, for the table and for whoever reads errors/.
      make_directories(out / "errors");
      write_file_atomic(error_file(out, sweep.runs[i].name), sweep.runs[i].error + "\n");
    } else if (sweep_run_done(sweep, i, out)) ++plan.finished;
    else plan.pending.push_back(i);
  }
  return plan;
}

void print_plan(const Sweep& sweep, const SweepPlan& plan, const std::string& where,
                const std::string& how) {
  for (const auto& warning : sweep.warnings) fmt::print(stderr, "condense: warning: {}\n", warning);
  fmt::print(stderr, "condense: sweep \"{}\"{}: {} runs: {} finished already, {} with invalid "
             "settings, {} to train on {}\n",
             sweep.title, where, plan.runs, plan.finished, plan.invalid.size(), plan.pending.size(),
             how);
  for (std::size_t i : plan.invalid)
    fmt::print(stderr, "condense: {}: {}\n", sweep.runs[i].name, sweep.runs[i].error);
}

int train_sweep_run(const Sweep& sweep, std::size_t index, const fs::path& out, int threads,
                    bool quiet) {
  const SweepRun& run = sweep.runs[index];
  const fs::path errors = error_file(out, run.name);
  if (!run.config) {
    make_directories(errors.parent_path());
    write_file_atomic(errors, run.error + "\n");
    return kExitBadInput;
  }
  RunConfig config = *run.config;
  if (threads > 0) config.threads = threads;
  TrainRequest request;
  request.root = out / run.name;
  request.quiet = quiet;
  request.report = sweep.run_reports;
  const RunDirectory directory{request.root};
  if (same_settings(request.root, config) && fs::exists(directory.checkpoint()))
    request.resume = true;
  else
    request.overwrite = fs::exists(directory.config());
  if (!quiet)
    fmt::print(stderr, "condense: {} {}\n",
               request.resume      ? "resuming from its checkpoint:"
               : request.overwrite ? "its settings changed; training again:"
                                   : "training",
               request.root.string());
  int code = 0;
  std::string error;
  try {
    code = exit_code_of(train_run(config, request));
  } catch (const std::exception& e) {
    code = kExitBadInput;
    error = e.what();
  }
  if (code == kExitDiverged) error = "diverged: the loss or a weight became NaN or Inf (summary.json)";
  if (code == kExitInterrupted)
    error = "interrupted; rerunning the sweep resumes it from its checkpoint";
  if (error.empty()) {
    fs::remove(errors);
  } else {
    make_directories(errors.parent_path());
    write_file_atomic(errors, error + "\n");
  }
  return code;
}

SweepTable::SweepTable(const Sweep& sweep, fs::path out) : sweep_(sweep), out_(std::move(out)) {
  rows_.resize(sweep.runs.size());
  for (std::size_t i = 0; i < sweep.runs.size(); ++i) refresh(i);
}

void SweepTable::refresh(std::size_t index) {
  const SweepRun& run = sweep_.runs[index];
  RunRow row = {{"run", run.name}};
  for (std::size_t a = 0; a < sweep_.axes.size(); ++a)
    row.emplace_back(sweep_.axes[a].labelled ? sweep_.axes[a].name : sweep_.axes[a].key,
                     sweep_.axes[a].labels[run.value[a]]);
  const fs::path root = out_ / run.name;
  bool measured = false;
  if (run.config && fs::exists(root / "config.toml")) {
    try {
      const RunRow values = run_row(load_run(root));
      row.insert(row.end(), values.begin(), values.end());
      measured = true;
    } catch (const std::exception& e) {
      notes_.push_back(fmt::format("{}: {}", root.string(), e.what()));
    }
  }
  std::string error = run.error.empty() ? recorded_error(out_, run.name) : run.error;
  if (!measured) row.emplace_back("status", error.empty() ? "not run" : "failed");
  // A run killed mid-way has no summary.json yet; its checkpoint says how far it got.
  for (auto& [column, value] : row)
    if (column == "status" && value == "unknown" && fs::exists(RunDirectory{root}.checkpoint()))
      value = "interrupted";
  if (measured && row_value(row, "status") == "completed") error.clear();
  row.emplace_back("error", error);
  rows_[index] = std::move(row);
}

void SweepTable::write() const {
  std::vector<std::string> columns = row_columns(rows_);
  columns.erase(std::find(columns.begin(), columns.end(), "error"));
  columns.push_back("error");
  write_file_atomic(out_ / "sweep.csv", rows_csv(columns, rows_));
}

SweepOutcome run_sweep_local(const Sweep& sweep, const fs::path& out,
                             const SweepSchedule& schedule) {
  make_directories(out / "logs");
  SweepOutcome outcome;
  const SweepPlan plan = plan_sweep(sweep, out, schedule.shard, schedule.shards);
  const std::vector<std::size_t>& pending = plan.pending;
  outcome.skipped = plan.finished;
  outcome.failed = int(plan.invalid.size());

  const int cores = available_cores();
  int workers = schedule.workers > 0 ? schedule.workers
                : schedule.threads > 0 ? std::max(1, cores / schedule.threads)
                                       : cores;
  workers = std::max(1, std::min<int>(workers, int(pending.size())));
  const int threads = schedule.threads > 0 ? schedule.threads : std::max(1, cores / workers);
  if (!schedule.quiet)
    print_plan(sweep, plan,
               schedule.shards > 1 ? fmt::format(" in shard {}/{}", schedule.shard, schedule.shards) : "",
               fmt::format("{} worker{} × {} thread{}", workers, workers == 1 ? "" : "s", threads,
                           threads == 1 ? "" : "s"));
  std::optional<SweepTable> table;
  if (schedule.shards == 1) {
    table.emplace(sweep, out);
    table->write();
  }

  struct sigaction action {}, old_int {}, old_term {};
  action.sa_handler = sweep_stop;
  sigemptyset(&action.sa_mask);
  g_sweep_signal.store(0);
  sigaction(SIGINT, &action, &old_int);
  sigaction(SIGTERM, &action, &old_term);

  const fs::path self = fs::read_symlink("/proc/self/exe");  // argv[0] of the workers
  struct Worker {
    std::size_t run;
    std::chrono::steady_clock::time_point started;
  };
  std::map<pid_t, Worker> running;
  std::size_t next = 0, finished = 0;
  bool forwarded = false;
  while (next < pending.size() || !running.empty()) {
    const int stop = g_sweep_signal.load();
    if (stop && !forwarded) {
      if (!schedule.quiet)
        fmt::print(stderr, "condense: stopping the sweep: the {} running run{} save{} a checkpoint\n",
                   running.size(), running.size() == 1 ? "" : "s", running.size() == 1 ? "s" : "");
      for (const auto& [pid, worker] : running) kill(pid, SIGTERM);
      forwarded = true;
      outcome.interrupted = true;
    }
    while (!stop && next < pending.size() && int(running.size()) < workers) {
      const SweepRun& run = sweep.runs[pending[next]];
      std::vector<std::string> arguments = {self.string()};
      arguments.insert(arguments.end(), schedule.worker_arguments.begin(),
                       schedule.worker_arguments.end());
      for (const std::string& a : {std::string("--worker-run"), run.name, std::string("--threads"),
                                   std::to_string(threads)})
        arguments.push_back(a);
      std::vector<char*> argv;
      for (auto& a : arguments) argv.push_back(a.data());
      argv.push_back(nullptr);
      posix_spawn_file_actions_t actions;
      posix_spawn_file_actions_init(&actions);
      const std::string log = (out / "logs" / (run.name + ".log")).string();
      posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      posix_spawn_file_actions_adddup2(&actions, 1, 2);
      posix_spawnattr_t attributes;
      posix_spawnattr_init(&attributes);
      // Its own process group: a Ctrl-C reaches the sweep, which passes it on once.
      posix_spawnattr_setpgroup(&attributes, 0);
      sigset_t defaults;
      sigemptyset(&defaults);
      sigaddset(&defaults, SIGINT);
      sigaddset(&defaults, SIGTERM);
      posix_spawnattr_setsigdefault(&attributes, &defaults);
      posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF);
      pid_t pid = 0;
      // /proc/self/exe: this very executable, even if the file was rebuilt since the sweep began.
      const int error =
          posix_spawn(&pid, "/proc/self/exe", &actions, &attributes, argv.data(), environ);
      posix_spawn_file_actions_destroy(&actions);
      posix_spawnattr_destroy(&attributes);
      if (error != 0) fail_io("cannot start a sweep worker ({}): {}", self.string(), std::strerror(error));
      running[pid] = {pending[next], std::chrono::steady_clock::now()};
      ++next;
    }
    if (running.empty()) break;
    int status = 0;
    const pid_t pid = waitpid(-1, &status, 0);
    if (pid < 0) {
      if (errno == EINTR) continue;
      fail_io("waiting for the sweep's workers: {}", std::strerror(errno));
    }
    const auto it = running.find(pid);
    if (it == running.end()) continue;
    const Worker worker = it->second;
    running.erase(it);
    const SweepRun& run = sweep.runs[worker.run];
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - worker.started).count();
    ++finished;
    std::string what;
    if (WIFSIGNALED(status)) {
      const int signal = WTERMSIG(status);
      what = fmt::format("its worker was killed by signal {} ({}); rerunning the sweep resumes it "
                         "from its last checkpoint",
                         signal, strsignal(signal));
      make_directories(out / "errors");
      write_file_atomic(error_file(out, run.name), what + "\n");
      ++outcome.failed;
    } else {
      const int code = WEXITSTATUS(status);
      if (code == 0) {
        what = "completed";
        ++outcome.trained;
      } else {
        if (code == kExitInterrupted) outcome.interrupted = true;
        ++(code == kExitDiverged ? outcome.diverged : outcome.failed);
        what = recorded_error(out, run.name);
        if (what.empty())
          what = fmt::format("its worker exited with code {}; see {}", code,
                             (out / "logs" / (run.name + ".log")).string());
      }
    }
    if (!schedule.quiet)
      fmt::print(stderr, "condense: [{}/{}] {}: {} ({:.1f} s)\n", finished, pending.size(), run.name,
                 what, seconds);
    if (table) {
      table->refresh(worker.run);
      table->write();
    }
  }
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGTERM, &old_term, nullptr);
  if (g_sweep_signal.load()) outcome.interrupted = true;
  if (table) write_sweep_summary(sweep, *table, schedule.quiet);
  return outcome;
}

}  // namespace condense
