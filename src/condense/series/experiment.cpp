#include "condense/series/experiment.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <toml++/toml.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <nlohmann/json.hpp>
#include <set>

#include "condense/core/atomic_file.hpp"
#include "condense/core/error.hpp"
#include "condense/core/exit_codes.hpp"
#include "condense/report/compare.hpp"
#include "condense/report/html_report.hpp"
#include "condense/report/run_data.hpp"
#include "condense/rundir/layout.hpp"
#include "condense/rundir/summary.hpp"
#include "condense/series/run_table.hpp"
#include "condense/series/series_page.hpp"
#include "condense/series/series_run.hpp"
#include "condense/series/toml_input.hpp"

namespace condense {

namespace fs = std::filesystem;

namespace {

std::string string_at(const fs::path& file, const toml::table& table, const std::string& key,
                      const std::string& what, bool required) {
  const std::optional<std::string> value = optional_string(file, table, key, what);
  if (!value && required) fail_input("{}: {} needs {} (a string)", where(file, table), what, key);
  return value.value_or("");
}

// The "key=value" strings of table[key]; `name` is how a message calls the key
// ("experiment.quick", "set of run lr 0.1"), `what` how the assignments' origins are labelled.
std::vector<ConfigAssignment> assignments_at(const fs::path& file, const toml::table& table,
                                             const std::string& key, const std::string& name,
                                             const std::string& what) {
  std::vector<ConfigAssignment> out;
  const toml::node* node = table.get(key);
  if (!node) return out;
  const toml::array* array = node->as_array();
  if (!array)
    fail_input("{}: {} must be an array of \"key=value\" strings", where(file, *node), name);
  for (const auto& item : *array) {
    if (!item.is_string())
      fail_input("{}: {} must be an array of \"key=value\" strings, like [\"init.std=1e-6\"]",
                 where(file, item), name);
    out.push_back(
        {std::string(*item.value<std::string>()), fmt::format("{} ({})", where(file, item), what)});
  }
  return out;
}

}  // namespace

Experiment load_experiment(const fs::path& file, const ExperimentOptions& options) {
  const TomlFile parsed = read_toml_file(file);
  const std::string& text = parsed.text;
  const toml::table& table = parsed.table;
  const toml::table* spec = table.get_as<toml::table>("experiment");
  if (!spec && table.get_as<toml::table>("sweep"))
    fail_input("{}: this is a sweep file; run it with: condense sweep {}", file.string(),
               file.string());
  if (!spec)
    fail_input(
        "{}: no [experiment] table; an experiment file is a run config plus [experiment] "
        "with its runs (docs/experiments.md)",
        file.string());
  check_keys(file, *spec, "[experiment]", {"title", "description", "quick", "compare", "runs"});

  Experiment experiment;
  experiment.file = file;
  experiment.title = string_at(file, *spec, "title", "experiment", true);
  experiment.description = string_at(file, *spec, "description", "experiment", false);
  const std::vector<ConfigAssignment> quick =
      assignments_at(file, *spec, "quick", "experiment.quick", "experiment.quick");

  std::vector<const toml::node*> comparison_nodes;
  if (const toml::node* node = spec->get("compare")) {
    const toml::array* array = node->as_array();
    if (!array) fail_input("{}: experiment.compare must be an array of tables", where(file, *node));
    const auto& metrics = comparable_metrics();
    for (const auto& item : *array) {
      const toml::table* entry = item.as_table();
      if (!entry)
        fail_input("{}: experiment.compare entries are tables like {{ metric = \"align_v1\" }}",
                   where(file, item));
      check_keys(file, *entry, "an experiment.compare entry",
                 {"metric", "layer", "log_x", "runs", "name"});
      ExperimentComparison c;
      c.metric = string_at(file, *entry, "metric", "experiment.compare", true);
      if (std::find(metrics.begin(), metrics.end(), c.metric) == metrics.end())
        fail_input("{}: experiment.compare: unknown metric \"{}\"; expected one of {}",
                   where(file, item), c.metric, fmt::join(metrics, ", "));
      c.layer = string_at(file, *entry, "layer", "experiment.compare", false);
      if (const toml::node* log_x = entry->get("log_x")) {
        if (!log_x->is_boolean())
          fail_input("{}: experiment.compare.log_x must be true or false", where(file, *log_x));
        c.log_x = *log_x->value<bool>();
      }
      c.name = string_at(file, *entry, "name", "experiment.compare", false);
      if (c.name.empty()) c.name = c.metric + (c.layer.empty() ? "" : "_" + c.layer);
      if (c.name != folder_name(c.name))
        fail_input("{}: experiment.compare name \"{}\" cannot be a folder name", where(file, item),
                   c.name);
      for (const auto& other : experiment.comparisons)
        if (other.name == c.name)
          fail_input("{}: two comparisons are named \"{}\"; give them distinct names",
                     where(file, item), c.name);
      if (const toml::node* runs = entry->get("runs")) {
        const toml::array* labels = runs->as_array();
        if (!labels)
          fail_input("{}: experiment.compare.runs must be an array of run labels",
                     where(file, *runs));
        for (const auto& label : *labels) {
          if (!label.is_string())
            fail_input("{}: experiment.compare.runs must be an array of run labels",
                       where(file, label));
          c.runs.push_back(std::string(*label.value<std::string>()));
        }
      }
      experiment.comparisons.push_back(c);
      comparison_nodes.push_back(&item);
    }
  }

  const toml::array* runs = spec->get_as<toml::array>("runs");
  if (!runs || runs->empty())
    fail_input(
        "{}: the experiment has no runs; add [[experiment.runs]] tables with a label and "
        "their settings",
        file.string());
  std::set<std::string> names;
  std::vector<LoadedConfig> loaded_runs;
  for (const auto& item : *runs) {
    const toml::table* entry = item.as_table();
    if (!entry) fail_input("{}: experiment.runs entries must be tables", where(file, item));
    check_keys(file, *entry, "an [[experiment.runs]] entry", {"label", "name", "set"});
    ExperimentRun run;
    run.label = string_at(file, *entry, "label", "[[experiment.runs]]", true);
    run.name = string_at(file, *entry, "name", "[[experiment.runs]]", false);
    if (run.name.empty()) run.name = folder_name(run.label);
    if (run.name != folder_name(run.name) || run.name == "." || run.name == ".." ||
        run.name == "compare")
      fail_input("{}: run name \"{}\" cannot be a folder name; use letters, digits, '.', '-', '_'",
                 where(file, *entry), run.name);
    if (!names.insert(run.name).second)
      fail_input("{}: two runs are named \"{}\"; give them distinct labels or names",
                 where(file, *entry), run.name);
    std::vector<ConfigAssignment> settings =
        assignments_at(file, *entry, "set", "set of run " + run.label, "run " + run.label);
    if (options.quick) settings.insert(settings.end(), quick.begin(), quick.end());
    try {
      LoadedConfig loaded = load_config_text_and_warnings(text, file.string(), {"experiment"},
                                                          settings, options.overrides);
      run.config = loaded.config;
      loaded_runs.push_back(std::move(loaded));
    } catch (const InputError& e) {
      // Errors of the merged config ("config: ...") do not say which run they are about.
      const std::string what = e.what();
      if (what.find("(run " + run.label + ")") != std::string::npos) throw;
      fail_input("{} (run {}): {}", where(file, *entry), run.label, what);
    }
    experiment.runs.push_back(std::move(run));
  }
  experiment.warnings = series_warnings(loaded_runs);
  for (std::size_t i = 0; i < experiment.comparisons.size(); ++i)
    for (const auto& label : experiment.comparisons[i].runs)
      if (std::none_of(experiment.runs.begin(), experiment.runs.end(),
                       [&](const ExperimentRun& r) { return r.label == label; }))
        fail_input("{}: experiment.compare.runs: no run is labelled \"{}\"",
                   where(file, *comparison_nodes[i]), label);
  return experiment;
}

ExperimentOutcome run_experiment(const Experiment& experiment, const fs::path& out, bool quiet) {
  make_directories(out);
  ExperimentOutcome outcome;
  std::vector<std::string> errors(experiment.runs.size());
  const auto started = std::chrono::steady_clock::now();
  for (std::size_t i = 0; i < experiment.runs.size(); ++i) {
    const ExperimentRun& run = experiment.runs[i];
    SeriesRunOptions options;
    options.quiet = quiet;
    options.label = fmt::format("[{}/{}] {}", i + 1, experiment.runs.size(), run.label);
    const SeriesRunResult result = train_series_run(out / run.name, run.config, options);
    if (result.failed)
      fmt::print(stderr, "condense: error: {}: {}; the other runs go on\n", options.label,
                 result.error);
    if (!result.error.empty()) {
      errors[i] = result.failed ? result.error : status_name(result.status);
      ++outcome.failed;
    }
    if (!result.failed && result.status == RunStatus::interrupted) {
      outcome.interrupted = true;
      break;
    }
  }
  write_experiment_summary(experiment, out, errors);
  if (!quiet)
    fmt::print(stderr, "condense: experiment \"{}\": {} runs in {:.1f} s, {} failed; see {}\n",
               experiment.title, experiment.runs.size(),
               std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count(),
               outcome.failed, (out / "index.html").string());
  return outcome;
}

namespace {

// A run of the experiment as its directory holds it: its row of experiment.csv, and its data when
// it could be read.
struct RunEntry {
  RunRow row;
  std::optional<RunData> data;
};

std::vector<RunEntry> read_runs(const Experiment& experiment, const fs::path& out,
                                const std::vector<std::string>& errors,
                                std::vector<std::string>& notes) {
  std::vector<RunEntry> entries;
  for (std::size_t i = 0; i < experiment.runs.size(); ++i) {
    const ExperimentRun& spec = experiment.runs[i];
    const fs::path root = out / spec.name;
    RunEntry entry;
    entry.row = {{"label", spec.label}, {"run", spec.name}};
    if (fs::exists(RunDirectory{root}.config())) {
      try {
        entry.data = load_run(root);
        const RunRow measured = run_row(*entry.data);
        entry.row.insert(entry.row.end(), measured.begin(), measured.end());
      } catch (const std::exception& e) {
        notes.push_back(fmt::format("{}: {}", root.string(), e.what()));
      }
    }
    const std::string error = i < errors.size() ? errors[i] : "";
    if (!entry.data) entry.row.emplace_back("status", error.empty() ? "not run" : "failed");
    entry.row.emplace_back("error", error);
    entries.push_back(std::move(entry));
  }
  return entries;
}

// The comparison figures (OUT/compare/<name>/) over the runs that have a directory.
std::vector<PageFigures> draw_comparisons(const Experiment& experiment, const fs::path& out,
                                          const std::vector<RunEntry>& entries,
                                          std::vector<std::string>& notes) {
  std::vector<PageFigures> drawn;
  for (const auto& c : experiment.comparisons) {
    CompareOptions options;
    for (std::size_t i = 0; i < entries.size(); ++i) {
      const std::string& label = experiment.runs[i].label;
      if (entries[i].data &&
          (c.runs.empty() || std::find(c.runs.begin(), c.runs.end(), label) != c.runs.end())) {
        options.runs.push_back(out / experiment.runs[i].name);
        options.labels.push_back(label);
      }
    }
    if (options.runs.empty()) continue;
    options.metric = c.metric;
    options.layer = c.layer;
    options.log_x = c.log_x;
    options.out = out / "compare" / c.name;
    try {
      const CompareResult result = write_comparison(options);
      PageFigures figures;
      figures.heading = html_escape(fmt::format(
          "{}{}{}", c.metric, c.layer.empty() ? "" : " (" + c.layer + ")",
          c.runs.empty() ? "" : ": " + fmt::format("{}", fmt::join(options.labels, ", "))));
      for (const auto& figure : result.figures)
        figures.images.push_back({fs::path("compare") / c.name / (figure + ".png"), {}, {}});
      drawn.push_back(std::move(figures));
      for (const auto& note : result.notes) notes.push_back(note);
    } catch (const std::exception& e) {
      notes.push_back(fmt::format("comparison of {}: {}", c.name, e.what()));
    }
  }
  return drawn;
}

// Each run's heatmaps, under a heading that links to its report.
std::vector<PageFigures> run_heatmaps(const Experiment& experiment, const fs::path& out,
                                      const std::vector<RunEntry>& entries) {
  std::vector<PageFigures> figures;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    if (!entries[i].data) continue;
    const std::string name = experiment.runs[i].name;
    PageFigures run;
    run.heading = fmt::format("{} (<a href=\"{}/report.html\">report</a>)",
                              html_escape(experiment.runs[i].label), html_escape(name));
    for (const auto& layer : entries[i].data->layers) {
      const fs::path image = fs::path(name) / "figures" / ("heatmaps_" + layer + ".png");
      if (fs::exists(out / image)) run.images.push_back({image, {}, {}});
    }
    figures.push_back(std::move(run));
  }
  return figures;
}

}  // namespace

void write_experiment_summary(const Experiment& experiment, const fs::path& out,
                              const std::vector<std::string>& errors) {
  SeriesPage page;
  const std::vector<RunEntry> entries = read_runs(experiment, out, errors, page.notes);
  for (const RunEntry& entry : entries) page.rows.push_back(entry.row);
  // experiment.csv: one row per run, the error last.
  page.columns = row_columns(page.rows);
  page.columns.erase(std::find(page.columns.begin(), page.columns.end(), "error"));
  page.columns.push_back("error");
  write_file_atomic(out / "experiment.csv", rows_csv(page.columns, page.rows));

  page.title = experiment.title;
  page.description = experiment.description;
  page.intro_html = fmt::format(
      "<p>Experiment file: <code>{}</code>. Each run has its own folder and report.html; the "
      "numbers below are in <a href=\"experiment.csv\">experiment.csv</a>.</p>",
      html_escape(experiment.file.string()));
  std::vector<PageFigures> comparisons = draw_comparisons(experiment, out, entries, page.notes);
  if (!comparisons.empty()) page.after_table.push_back({"Comparisons", std::move(comparisons)});
  page.after_table.push_back({"Each run", run_heatmaps(experiment, out, entries)});
  write_file_atomic(out / "index.html", series_page_html(page, out));
}

}  // namespace condense
