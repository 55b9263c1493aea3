#include "condense/series/experiment.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>
#include <toml++/toml.h>

#include "condense/core/exit_codes.hpp"
#include "condense/pipeline/train_run.hpp"
#include "condense/series/run_table.hpp"
#include "condense/rundir/summary.hpp"
#include "condense/series/toml_input.hpp"
#include "condense/core/atomic_file.hpp"
#include "condense/core/error.hpp"
#include "condense/report/compare.hpp"
#include "condense/report/run_data.hpp"
#include "condense/rundir/layout.hpp"

namespace condense {

namespace fs = std::filesystem;

namespace {

std::string string_at(const fs::path& file, const toml::table& table, const std::string& key,
                      const std::string& what, bool required) {
  const std::optional<std::string> value = optional_string(file, table, key, what);
  if (!value && required) fail_input("{}: {} needs {} (a string)", where(file, table), what, key);
  return value.value_or("");
}

std::vector<ConfigAssignment> assignments_at(const fs::path& file, const toml::table& table,
                                             const std::string& key, const std::string& what) {
  std::vector<ConfigAssignment> out;
  const toml::node* node = table.get(key);
  if (!node) return out;
  const toml::array* array = node->as_array();
  if (!array)
    fail_input("{}: {}.{} must be an array of \"key=value\" strings", where(file, *node), what, key);
  for (const auto& item : *array) {
    if (!item.is_string())
      fail_input("{}: {}.{} must be an array of \"key=value\" strings, like [\"init.std=1e-6\"]",
                 where(file, item), what, key);
    out.push_back({std::string(*item.value<std::string>()),
                   fmt::format("{} ({})", where(file, item), what)});
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
    fail_input("{}: no [experiment] table; an experiment file is a run config plus [experiment] "
               "with its runs (docs/experiments.md)",
               file.string());
  check_keys(file, *spec, "[experiment]", {"title", "description", "quick", "compare", "runs"});

  Experiment experiment;
  experiment.file = file;
  experiment.title = string_at(file, *spec, "title", "experiment", true);
  experiment.description = string_at(file, *spec, "description", "experiment", false);
  const std::vector<ConfigAssignment> quick =
      assignments_at(file, *spec, "quick", "experiment.quick");

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
        if (!labels) fail_input("{}: experiment.compare.runs must be an array of run labels",
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
    fail_input("{}: the experiment has no runs; add [[experiment.runs]] tables with a label and "
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
    std::vector<ConfigAssignment> settings = assignments_at(file, *entry, "set", "run " + run.label);
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
    TrainRequest request;
    request.root = out / run.name;
    request.quiet = quiet;
    const RunDirectory directory{request.root};
    const bool same = same_settings(request.root, run.config);
    const std::optional<RunStatus> status =
        same ? recorded_status(request.root) : std::nullopt;
    const std::string head = fmt::format("[{}/{}] {}", i + 1, experiment.runs.size(), run.label);
    if (status && status != RunStatus::interrupted) {
      fmt::print(stderr, "condense: {}: {} already ({}); kept\n", head, status_name(*status),
                 request.root.string());
      if (status == RunStatus::diverged) {
        errors[i] = "diverged";
        ++outcome.failed;
      }
      continue;
    }
    if (same && fs::exists(directory.checkpoint())) {
      request.resume = true;
      fmt::print(stderr, "condense: {}: resuming {}\n", head, request.root.string());
    } else {
      request.overwrite = fs::exists(directory.config());
      fmt::print(stderr, "condense: {}{}\n", head,
                 request.overwrite ? ": its settings changed; training it again" : "");
    }
    int code = 0;
    try {
      code = exit_code_of(train_run(run.config, request));
    } catch (const std::exception& e) {
      errors[i] = e.what();
      ++outcome.failed;
      fmt::print(stderr, "condense: error: {}: {}; the other runs go on\n", head, e.what());
      continue;
    }
    if (code == kExitInterrupted) {
      outcome.interrupted = true;
      errors[i] = "interrupted";
      ++outcome.failed;
      break;
    }
    if (code != 0) {
      errors[i] = code == kExitDiverged ? "diverged" : fmt::format("exit code {}", code);
      ++outcome.failed;
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

void write_experiment_summary(const Experiment& experiment, const fs::path& out,
                              const std::vector<std::string>& errors) {
  std::vector<std::optional<RunData>> runs;
  std::vector<std::string> notes;
  std::vector<RunRow> rows;
  for (std::size_t i = 0; i < experiment.runs.size(); ++i) {
    const ExperimentRun& spec = experiment.runs[i];
    const fs::path root = out / spec.name;
    std::optional<RunData> data;
    RunRow row = {{"label", spec.label}, {"run", spec.name}};
    if (fs::exists(root / "config.toml")) {
      try {
        data = load_run(root);
        const RunRow measured = run_row(*data);
        row.insert(row.end(), measured.begin(), measured.end());
      } catch (const std::exception& e) {
        notes.push_back(fmt::format("{}: {}", root.string(), e.what()));
      }
    }
    const std::string error = i < errors.size() ? errors[i] : "";
    if (!data) row.emplace_back("status", error.empty() ? "not run" : "failed");
    row.emplace_back("error", error);
    runs.push_back(std::move(data));
    rows.push_back(std::move(row));
  }
  // experiment.csv: one row per run, the error last.
  std::vector<std::string> columns = row_columns(rows);
  columns.erase(std::find(columns.begin(), columns.end(), "error"));
  columns.push_back("error");
  const std::string csv = rows_csv(columns, rows);
  write_file_atomic(out / "experiment.csv", csv);

  // Comparison figures over the runs that have a directory.
  struct Drawn {
    std::string heading;
    std::vector<fs::path> images;  // relative to out
  };
  std::vector<Drawn> drawn;
  for (const auto& c : experiment.comparisons) {
    std::vector<fs::path> roots;
    std::vector<std::string> labels;
    for (std::size_t i = 0; i < runs.size(); ++i) {
      const std::string& label = experiment.runs[i].label;
      if (runs[i] && (c.runs.empty() || std::find(c.runs.begin(), c.runs.end(), label) != c.runs.end())) {
        roots.push_back(out / experiment.runs[i].name);
        labels.push_back(label);
      }
    }
    if (roots.empty()) continue;
    const std::string& stem = c.name;
    CompareOptions options;
    options.runs = roots;
    options.labels = labels;
    options.metric = c.metric;
    options.layer = c.layer;
    options.log_x = c.log_x;
    options.out = out / "compare" / stem;
    try {
      const CompareResult result = write_comparison(options);
      Drawn d{fmt::format("{}{}{}", c.metric, c.layer.empty() ? "" : " (" + c.layer + ")",
                          c.runs.empty() ? "" : ": " + fmt::format("{}", fmt::join(labels, ", "))),
              {}};
      for (const auto& figure : result.figures)
        d.images.push_back(fs::path("compare") / stem / (figure + ".png"));
      drawn.push_back(std::move(d));
      for (const auto& note : result.notes) notes.push_back(note);
    } catch (const std::exception& e) {
      notes.push_back(fmt::format("comparison of {}: {}", stem, e.what()));
    }
  }

  // index.html: the table, the comparisons, and every run's figures and report.
  std::string html = fmt::format(
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>{0}</title>\n"
      "<style>body{{font-family:sans-serif;max-width:1400px;margin:1em auto;padding:0 1em}}"
      "table{{border-collapse:collapse;font-size:0.85em}}td,th{{border:1px solid #ccc;"
      "padding:2px 6px;text-align:right}}img{{max-width:100%}}.notes{{background:#fff4e0;"
      "padding:0.5em 1em}}</style></head><body>\n<h1>{0}</h1>\n<p>{1}</p>\n"
      "<p>Experiment file: <code>{2}</code>. Each run has its own folder and report.html; the "
      "numbers below are in <a href=\"experiment.csv\">experiment.csv</a>.</p>\n",
      html_escape(experiment.title), html_escape(experiment.description),
      html_escape(experiment.file.string()));
  if (!notes.empty()) {
    html += "<div class=\"notes\"><b>Notes</b><ul>";
    for (const auto& n : notes) html += "<li>" + html_escape(n) + "</li>";
    html += "</ul></div>\n";
  }
  html += "<h2>Runs</h2>\n<div style=\"overflow-x:auto\"><table>\n<tr>";
  for (const auto& column : columns) html += "<th>" + html_escape(column) + "</th>";
  html += "</tr>\n";
  for (std::size_t i = 0; i < rows.size(); ++i) {
    html += "<tr>";
    for (const auto& column : columns) {
      const std::string cell = html_escape(row_value(rows[i], column));
      html += column == "run" && runs[i]
                  ? fmt::format("<td><a href=\"{0}/report.html\">{0}</a></td>", cell)
                  : "<td>" + cell + "</td>";
    }
    html += "</tr>\n";
  }
  html += "</table></div>\n";
  if (!drawn.empty()) html += "<h2>Comparisons</h2>\n";
  for (const auto& d : drawn) {
    html += "<h3>" + html_escape(d.heading) + "</h3>\n";
    for (const auto& image : d.images)
      html += fmt::format("<p><img src=\"{0}\" alt=\"{0}\"></p>\n", html_escape(image.string()));
  }
  html += "<h2>Each run</h2>\n";
  for (std::size_t i = 0; i < runs.size(); ++i) {
    if (!runs[i]) continue;
    const std::string name = experiment.runs[i].name;
    html += fmt::format("<h3>{} (<a href=\"{}/report.html\">report</a>)</h3>\n",
                        html_escape(experiment.runs[i].label), html_escape(name));
    for (const auto& layer : runs[i]->layers) {
      const fs::path image = fs::path(name) / "figures" / ("heatmaps_" + layer + ".png");
      if (fs::exists(out / image))
        html += fmt::format("<p><img src=\"{0}\" alt=\"{0}\"></p>\n", html_escape(image.string()));
    }
  }
  html += "</body></html>\n";
  write_file_atomic(out / "index.html", html);
}

}  // namespace condense
