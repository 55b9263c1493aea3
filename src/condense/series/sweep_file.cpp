// Reading a sweep file (series/sweep.hpp): the [sweep] table's axes, seeds and figures, and every
// run they make resolved to its config. Everything malformed is reported, with its file and line,
// before anything is trained.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <toml++/toml.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <set>
#include <sstream>

#include "condense/core/error.hpp"
#include "condense/series/sweep.hpp"
#include "condense/series/toml_input.hpp"

namespace condense {

namespace fs = std::filesystem;

namespace {

// The most runs one sweep holds: far beyond what a machine trains, and bounded, so that a range's
// num or a product of axes cannot ask for 10^18 runs to be laid out before anything starts.
constexpr std::int64_t kMaxSweepRuns = 100'000;


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

// The node holding an axis's values: `values = [...]`, `linear = {from, to, num}` or
// `log = {from, to, num}` (exactly one), or the axis's `quick` list under --quick; `kind` says
// which.
const toml::node* axis_values_node(const fs::path& file, const toml::table& entry,
                                   const SweepAxis& axis, const toml::node* quick,
                                   std::string& kind) {
  const char* kinds[] = {"values", "linear", "log"};
  const toml::node* spec = nullptr;
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
    fail_input(
        "{}: axis {} needs its values: values = [...], linear = {{ from, to, num }} or "
        "log = {{ from, to, num }}",
        where(file, entry), axis.key);
  return spec;
}

// Values from a list: numbers, strings, arrays ([50, 20] is labelled "50-20") or tables.
void read_value_list(const fs::path& file, const toml::node& list, bool quick, SweepAxis& axis) {
  const toml::node* spec = &list;
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
               inner && std::all_of(inner->begin(), inner->end(), [](const toml::node& e) {
                 return e.is_value() && !e.is_string();
               })) {
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
}

// Values from a linear or log range, rounded to 12 digits (0.25 + 9 · 0.25 is 2.5, not
// 2.4999999999999996) and, for keys that hold integers, to integers.
void read_range(const fs::path& file, const toml::node& spec_node, const std::string& kind,
                SweepAxis& axis) {
  const toml::node* spec = &spec_node;
  const bool integer = integer_key(axis.key);
  std::vector<double> numbers;
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
  if (*num > kMaxSweepRuns)
    fail_input("{}: axis {}: num = {} is more values than a sweep can run (at most {} runs)",
               where(file, *spec), axis.key, *num, kMaxSweepRuns);
  if (kind == "log" && !(*from > 0 && *to > 0))
    fail_input("{}: axis {}: a log range needs from > 0 and to > 0, got {} and {}",
               where(file, *spec), axis.key, *from, *to);
  axis.log = kind == "log";
  for (std::int64_t i = 0; i < *num; ++i) {
    const double t = *num == 1 ? 0.0 : double(i) / double(*num - 1);
    double v = axis.log ? std::exp(std::log(*from) + t * (std::log(*to) - std::log(*from)))
                        : *from + t * (*to - *from);
    // 0.25 + 9 * 0.25 is 2.5, not 2.4999999999999996. (strtod: stod throws on a subnormal.)
    v = std::strtod(fmt::format("{:.12g}", v).c_str(), nullptr);
    if (integer) v = std::round(v);
    if (integer && !(std::abs(v) <= 9007199254740992.0))  // 2^53: exact, and within int64
      fail_input("{}: axis {} holds integers, and its range reaches {}, beyond 2^53",
                 where(file, *spec), axis.key, v);
    numbers.push_back(v);
  }
  if (integer && std::set<double>(numbers.begin(), numbers.end()).size() != numbers.size())
    fail_input(
        "{}: axis {} holds integers, and its range rounds to repeated values ({}); use "
        "fewer points or a list of values",
        where(file, *spec), axis.key, fmt::join(numbers, ", "));
  axis.numbers = numbers;
  for (double v : numbers)
    axis.values.push_back(integer ? fmt::format("{}", std::int64_t(v)) : fmt::format("{:.17g}", v));
  axis.labels = integer ? axis.values : number_labels(numbers);
}

// `labels = [...]` (or `quick_labels` under --quick) in place of the labels made from the values.
void read_axis_labels(const fs::path& file, const toml::table& entry, bool quick, SweepAxis& axis) {
  if (const toml::node* node = entry.get(quick ? "quick_labels" : "labels")) {
    const toml::array* labels = node->as_array();
    if (!labels || labels->size() != axis.values.size() ||
        !std::all_of(labels->begin(), labels->end(),
                     [](const toml::node& n) { return n.is_string(); }))
      fail_input("{}: axis {}: {} must be {} strings, one per value", where(file, *node), axis.key,
                 quick ? "quick_labels" : "labels", axis.values.size());
    axis.labels.clear();
    axis.labelled = true;
    for (const auto& label : *labels)
      axis.labels.push_back(std::string(*label.value<std::string>()));
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
}

void read_axis_values(const fs::path& file, const toml::table& entry, SweepAxis& axis,
                      const toml::node* quick) {
  std::string kind;
  const toml::node* spec = axis_values_node(file, entry, axis, quick, kind);
  if (kind == "values")
    read_value_list(file, *spec, quick != nullptr, axis);
  else
    read_range(file, *spec, kind, axis);
  if (std::set<std::string>(axis.values.begin(), axis.values.end()).size() != axis.values.size())
    fail_input("{}: axis {} repeats a value", where(file, *spec), axis.key);
  read_axis_labels(file, entry, quick != nullptr, axis);
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
      "train_loss",    "train_acc",     "test_loss",    "test_acc",         "min_train_loss",
      "max_train_acc", "min_test_loss", "max_test_acc", "training_seconds", "steps"};
  return metrics;
}

// sweep.quick: the settings --quick applies to every run.
std::vector<ConfigAssignment> read_quick(const fs::path& file, const toml::table& spec,
                                         const SweepOptions& options) {
  std::vector<ConfigAssignment> quick;
  if (const toml::node* node = spec.get("quick"); node && options.quick) {
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

  return quick;
}

// [[sweep.axes]]: each axis's key, values, labels and name; `zips` gets each axis's zip key.
void read_axes(const fs::path& file, const toml::table& spec, const SweepOptions& options,
               Sweep& sweep, std::vector<std::string>& zips) {
  const toml::node* axes_node = spec.get("axes");
  const toml::array* axes = axes_node ? axes_node->as_array() : nullptr;
  if (axes_node && !axes)
    fail_input("{}: sweep.axes must be [[sweep.axes]] tables", where(file, *axes_node));
  if (axes)
    for (const auto& item : *axes) {
      const toml::table* entry = item.as_table();
      if (!entry) fail_input("{}: sweep.axes entries must be tables", where(file, item));
      check_keys(
          file, *entry, "a [[sweep.axes]] entry",
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
}

// sweep.seeds: a count or a list, the innermost axis, on key `seed`.
void read_seeds(const fs::path& file, const toml::table& spec, Sweep& sweep,
                std::vector<std::string>& zips) {
  if (const toml::node* node = spec.get("seeds")) {
    SweepAxis axis;
    axis.key = "seed";
    if (node->is_integer()) {
      const std::int64_t n = *node->value<std::int64_t>();
      if (n < 1)
        fail_input("{}: sweep.seeds = {} gives no run; give a count ≥ 1 or a list",
                   where(file, *node), n);
      if (n > kMaxSweepRuns)
        fail_input("{}: sweep.seeds = {} is more runs than a sweep can hold (at most {})",
                   where(file, *node), n, kMaxSweepRuns);
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
}

// Zipped axes follow their leader: same number of values, one leader per group.
void link_zips(const fs::path& file, const toml::table& spec, Sweep& sweep,
               const std::vector<std::string>& zips) {
  const toml::array* axes = spec.get_as<toml::array>("axes");
  for (std::size_t a = 0; a < sweep.axes.size(); ++a) {
    if (zips[a].empty()) continue;
    const toml::node& entry = *axes->get(a);
    const std::size_t leader = axis_index(sweep, zips[a], file, entry, "zip");
    if (leader == a || !zips[leader].empty())
      fail_input(
          "{}: axis {} is zipped with {}, which is itself zipped or the same axis; zip "
          "every axis of a group with one leader",
          where(file, entry), sweep.axes[a].key, zips[a]);
    if (sweep.axes[leader].values.size() != sweep.axes[a].values.size())
      fail_input(
          "{}: axis {} ({} values) is zipped with {} ({} values); zipped axes need the same "
          "number of values",
          where(file, entry), sweep.axes[a].key, sweep.axes[a].values.size(),
          sweep.axes[leader].key, sweep.axes[leader].values.size());
    sweep.axes[a].leader = int(leader);
  }
}

// Short names: the key's last part, unless two axes share it.
void name_axes(Sweep& sweep) {
  for (auto& axis : sweep.axes) {
    if (!axis.name.empty()) continue;
    const std::string last = axis.key.substr(axis.key.rfind('.') + 1);
    const bool shared =
        std::count_if(sweep.axes.begin(), sweep.axes.end(), [&](const SweepAxis& o) {
          return o.key.substr(o.key.rfind('.') + 1) == last;
        }) > 1;
    axis.name = shared ? axis.key : last;
  }
}

// Runs: the cross product of the leading axes, the first outermost, each resolved to its config
// (the file, sweep.quick, its axis values, then --set). A value the config rejects leaves the run
// with its error.
void expand_runs(const fs::path& file, const std::string& text,
                 const std::vector<ConfigAssignment>& quick, const SweepOptions& options,
                 Sweep& sweep) {
  std::vector<std::size_t> dims;
  for (std::size_t a = 0; a < sweep.axes.size(); ++a)
    if (sweep.axes[a].leader < 0) dims.push_back(a);
  std::size_t total = 1;
  for (std::size_t a : dims) {
    const std::size_t n = sweep.axes[a].values.size();
    if (total > std::size_t(kMaxSweepRuns) / n) {
      std::vector<std::size_t> sizes;
      for (std::size_t b : dims) sizes.push_back(sweep.axes[b].values.size());
      fail_input("{}: the axes give {} runs, more than a sweep can hold (at most {})",
                 file.string(), fmt::join(sizes, " × "), kMaxSweepRuns);
    }
    total *= n;
  }
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
  if (std::none_of(sweep.runs.begin(), sweep.runs.end(),
                   [](const SweepRun& r) { return r.config.has_value(); }))
    fail_input("no run of the sweep has a valid config; the first ({}): {}",
               sweep.runs.front().name, sweep.runs.front().error);
}

// [[sweep.figures]]: the phase diagrams; without any, the first two axes of their own by peak
// mean |cos| and by largest RD.
void read_figures(const fs::path& file, const toml::table& spec, Sweep& sweep) {
  if (const toml::node* node = spec.get("figures")) {
    const toml::array* array = node->as_array();
    if (!array)
      fail_input("{}: sweep.figures must be [[sweep.figures]] tables", where(file, *node));
    for (const auto& item : *array) {
      const toml::table* entry = item.as_table();
      if (!entry) fail_input("{}: sweep.figures entries must be tables", where(file, item));
      check_keys(file, *entry, "a [[sweep.figures]] entry",
                 {"x", "y", "metric", "layer", "log_color", "marks", "where", "name"});
      SweepFigure figure;
      const std::optional<std::string> x = optional_string(file, *entry, "x", "sweep.figures");
      if (!x) fail_input("{}: a [[sweep.figures]] entry needs x, an axis key", where(file, item));
      figure.x = axis_index(sweep, *x, file, item, "sweep.figures.x");
      if (const std::optional<std::string> y =
              optional_string(file, *entry, "y", "sweep.figures")) {
        figure.y = axis_index(sweep, *y, file, item, "sweep.figures.y");
        if (*figure.y == figure.x)
          fail_input("{}: sweep.figures: x and y are the same axis", where(file, item));
      }
      figure.metric = optional_string(file, *entry, "metric", "sweep.figures").value_or("");
      const auto& measures = layer_measure_columns();
      if (std::find(measures.begin(), measures.end(), figure.metric) == measures.end() &&
          std::find(run_metrics().begin(), run_metrics().end(), figure.metric) ==
              run_metrics().end())
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
          const std::string text_of =
              condition.is_string() ? std::string(*condition.value<std::string>()) : "";
          const auto eq = text_of.find('=');
          if (eq == std::string::npos)
            fail_input("{}: sweep.figures.where entries are \"key=value\" strings",
                       where(file, condition));
          const std::size_t a =
              axis_index(sweep, text_of.substr(0, eq), file, condition, "sweep.figures.where");
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
}

// Figure names, from their settings unless given; distinct.
void name_figures(const fs::path& file, Sweep& sweep) {
  for (auto& figure : sweep.figures) {
    if (!figure.name.empty()) {
      if (figure.name != folder_name(figure.name))
        fail_input("{}: sweep.figures name \"{}\" cannot be a file name", file.string(),
                   figure.name);
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
}

}  // namespace

Sweep load_sweep(const fs::path& file, const SweepOptions& options) {
  const TomlFile parsed = read_toml_file(file);
  const std::string& text = parsed.text;
  const toml::table& table = parsed.table;
  const toml::table* spec = table.get_as<toml::table>("sweep");
  if (!spec && table.get_as<toml::table>("experiment"))
    fail_input("{}: this is an experiment file; run it with: condense run {}", file.string(),
               file.string());
  if (!spec)
    fail_input(
        "{}: no [sweep] table; a sweep file is a run config plus [sweep] with its axes "
        "(docs/sweeps.md)",
        file.string());
  check_keys(file, *spec, "[sweep]",
             {"title", "description", "seeds", "quick", "run_reports", "axes", "figures"});
  Sweep sweep;
  sweep.file = file;
  sweep.title = optional_string(file, *spec, "title", "sweep").value_or(file.stem().string());
  sweep.description = optional_string(file, *spec, "description", "sweep").value_or("");
  if (const toml::node* node = spec->get("run_reports")) {
    if (!node->is_boolean())
      fail_input("{}: sweep.run_reports must be true or false", where(file, *node));
    sweep.run_reports = *node->value<bool>();
  }
  const std::vector<ConfigAssignment> quick = read_quick(file, *spec, options);
  std::vector<std::string> zips;
  read_axes(file, *spec, options, sweep, zips);
  read_seeds(file, *spec, sweep, zips);
  if (sweep.axes.empty())
    fail_input("{}: the sweep has no axes; add [[sweep.axes]] tables (key and values) or seeds",
               file.string());
  link_zips(file, *spec, sweep, zips);
  name_axes(sweep);
  expand_runs(file, text, quick, options, sweep);
  read_figures(file, *spec, sweep);
  name_figures(file, sweep);
  return sweep;
}

}  // namespace condense
