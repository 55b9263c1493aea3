// The summary of a sweep: sweep.csv, the phase diagrams and report.html (cli/sweep.hpp).
#include <algorithm>
#include <cmath>
#include <map>

#include <fmt/format.h>

#include "condense/series/sweep.hpp"
#include "condense/core/atomic_file.hpp"
#include "condense/report/gnuplot.hpp"
#include "condense/report/phase_diagram.hpp"

namespace condense {

namespace fs = std::filesystem;

namespace {

double parse_number(const std::string& text) {
  if (text.empty()) return NAN;
  try {
    std::size_t used = 0;
    const double v = std::stod(text, &used);
    return used == text.size() ? v : NAN;
  } catch (const std::exception&) {
    return NAN;
  }
}

bool is_run_metric(const std::string& metric) {
  return std::find(layer_measures().begin(), layer_measures().end(), metric) ==
         layer_measures().end();
}

// The column of `figure`'s metric: the metric itself, or <layer>.<metric> with the figure's layer
// (default: the first layer that has it). Empty when no run has it.
std::string metric_column(const SweepFigure& figure, const std::vector<std::string>& columns) {
  if (is_run_metric(figure.metric)) return figure.metric;
  const std::string suffix = "." + figure.metric;
  for (const auto& column : columns) {
    if (column.size() <= suffix.size() ||
        column.compare(column.size() - suffix.size(), suffix.size(), suffix) != 0)
      continue;
    const std::string layer = column.substr(0, column.size() - suffix.size());
    if (figure.layer.empty() || figure.layer == layer) return column;
  }
  return "";
}

struct Drawn {
  std::string name, title;
};

// One phase diagram from the table; returns a note instead when nothing can be drawn.
std::optional<Drawn> draw_figure(const Sweep& sweep, const SweepFigure& figure,
                                 const std::vector<RunRow>& rows, const fs::path& figures,
                                 std::vector<std::string>& notes) {
  const std::vector<std::string> columns = row_columns(rows);
  const std::string column = metric_column(figure, columns);
  if (column.empty()) {
    notes.push_back(fmt::format("figure {}: no run has {}{} yet", figure.name, figure.metric,
                                figure.layer.empty() ? "" : " of layer " + figure.layer));
    return std::nullopt;
  }
  const SweepAxis& x = sweep.axes[figure.x];
  const SweepAxis* y = figure.y ? &sweep.axes[*figure.y] : nullptr;
  const std::size_t nx = x.values.size(), ny = y ? y->values.size() : 1;
  std::vector<double> sum(nx * ny, 0.0);
  std::vector<int> count(nx * ny, 0), diverged(nx * ny, 0), failed(nx * ny, 0);
  int per_cell = 0;
  for (std::size_t i = 0; i < sweep.runs.size(); ++i) {
    const SweepRun& run = sweep.runs[i];
    if (std::any_of(figure.where.begin(), figure.where.end(),
                    [&](const auto& condition) { return run.value[condition.first] != condition.second; }))
      continue;
    const std::size_t cell = (y ? run.value[*figure.y] : 0) * nx + run.value[figure.x];
    if (cell == 0) ++per_cell;
    const std::string status = row_value(rows[i], "status");
    const double v = parse_number(row_value(rows[i], column));
    if (status == "completed" && std::isfinite(v)) {
      sum[cell] += v;
      ++count[cell];
    } else if (status == "diverged") {
      ++diverged[cell];
    } else if (status == "failed") {
      ++failed[cell];
    }
  }
  PhaseDiagram d;
  d.name = "phase_" + figure.name;
  const auto axis_label = [](const SweepAxis& axis) {
    const bool named = axis.name != axis.key && axis.name != axis.key.substr(axis.key.rfind('.') + 1);
    return named ? fmt::format("{} ({})", axis.name, axis.key) : axis.key;
  };
  d.x_label = axis_label(x);
  d.y_label = y ? axis_label(*y) : "";
  d.x_ticks = x.labels;
  if (y) d.y_ticks = y->labels;
  d.color_label = figure.metric;
  d.values.resize(nx * ny);
  d.marks.resize(nx * ny);
  bool positive = true;
  int with_values = 0;
  for (std::size_t c = 0; c < nx * ny; ++c) {
    d.values[c] = count[c] ? sum[c] / count[c] : NAN;
    if (count[c]) ++with_values;
    if (count[c] && !(d.values[c] > 0)) positive = false;
    if (!count[c]) d.marks[c] = diverged[c] ? "×" : failed[c] ? "!" : "";
  }
  if (with_values == 0) {
    notes.push_back(fmt::format("figure {}: no finished run has a value of {} yet", figure.name,
                                column));
    return std::nullopt;
  }
  const bool logarithmic = figure.metric == "rd" || figure.metric == "max_rd" ||
                           figure.metric.find("loss") != std::string::npos;
  d.log_color = figure.log_color.value_or(logarithmic && positive);
  if (d.log_color && !positive)
    notes.push_back(fmt::format("figure {}: a log colour scale leaves out values ≤ 0", figure.name));
  d.title = fmt::format("{} over {}{}", column == figure.metric ? column : column.substr(0, column.size() - figure.metric.size() - 1) + ": " + figure.metric, x.name, y ? " and " + y->name : "");
  for (const auto& [a, v] : figure.where)
    d.title += fmt::format(", {} = {}", sweep.axes[a].name, sweep.axes[a].labels[v]);
  d.caption = per_cell > 1 ? fmt::format("Cell: mean of its {} runs", per_cell) : "Cell: its run";
  const auto has = [&](const std::string& mark) {
    return std::find(d.marks.begin(), d.marks.end(), mark) != d.marks.end();
  };
  if (has("×")) d.caption += "; ×: every run diverged";
  if (has("!")) d.caption += "; !: failed";
  for (std::size_t c = 0; c < nx * ny; ++c)
    if (!count[c] && d.marks[c].empty()) {
      d.caption += "; grey: none finished";
      break;
    }
  d.cell_labels = nx * ny <= 400;
  for (const auto& mark : figure.marks) {
    const SweepAxis* axis = mark.axis == 'x' ? &x : y;
    const double at = axis ? cell_coordinate(axis->numbers, mark.at, axis->log) : NAN;
    if (!std::isfinite(at)) {
      notes.push_back(fmt::format("figure {}: the mark {} = {} is outside the {} axis", figure.name,
                                  mark.axis, mark.at, axis ? axis->key : "(none)"));
      continue;
    }
    d.lines.push_back({mark.axis, at, mark.label});
  }
  draw_phase_diagram(figures, d, true);
  return Drawn{d.name, d.title};
}

}  // namespace

void write_sweep_summary(const Sweep& sweep, const fs::path& out, bool quiet) {
  make_directories(out);
  write_sweep_summary(sweep, SweepTable(sweep, out), quiet);
}

void write_sweep_summary(const Sweep& sweep, const SweepTable& table, bool quiet) {
  const fs::path& out = table.out();
  table.write();
  std::vector<std::string> notes = table.notes();
  const std::vector<RunRow>& rows = table.rows();

  std::vector<Drawn> drawn;
  const fs::path figures = out / "figures";
  for (const auto& figure : sweep.figures) {
    try {
      if (auto d = draw_figure(sweep, figure, rows, figures, notes)) drawn.push_back(*d);
    } catch (const std::exception& e) {
      notes.push_back(fmt::format("figure {}: {}", figure.name, e.what()));
    }
  }

  std::map<std::string, int> by_status;
  for (const auto& row : rows) ++by_status[row_value(row, "status")];
  std::string counts;
  for (const auto& [status, n] : by_status)
    counts += fmt::format("{}{} {}", counts.empty() ? "" : ", ", n, status);

  std::string html = fmt::format(
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>{0}</title>\n"
      "<style>body{{font-family:sans-serif;max-width:1400px;margin:1em auto;padding:0 1em}}"
      "table{{border-collapse:collapse;font-size:0.8em}}td,th{{border:1px solid #ccc;"
      "padding:2px 6px;text-align:right}}img{{max-width:100%}}.notes{{background:#fff4e0;"
      "padding:0.5em 1em}}.failed td{{background:#fde0dc}}</style></head><body>\n<h1>{0}</h1>\n"
      "<p>{1}</p>\n<p>Sweep file: <code>{2}</code>. {3} runs: {4}. The numbers are in "
      "<a href=\"sweep.csv\">sweep.csv</a>; {5}. Running the same command again trains what is "
      "missing.</p>\n",
      html_escape(sweep.title), html_escape(sweep.description), html_escape(sweep.file.string()),
      rows.size(), html_escape(counts),
      sweep.run_reports ? "each run's folder has its report.html"
                        : "runs have no report of their own (sweep.run_reports = false): "
                          "<code>condense report RUN</code> makes one");
  if (!notes.empty()) {
    html += "<div class=\"notes\"><b>Notes</b><ul>";
    for (const auto& n : notes) html += "<li>" + html_escape(n) + "</li>";
    html += "</ul></div>\n";
  }
  if (!drawn.empty()) html += "<h2>Phase diagrams</h2>\n";
  for (const auto& d : drawn)
    html += fmt::format(
        "<h3>{0}</h3>\n<p><a href=\"figures/{1}.pdf\"><img src=\"figures/{1}.png\" alt=\"{0}\">"
        "</a></p>\n",
        html_escape(d.title), html_escape(d.name));
  html += "<h2>Runs</h2>\n<div style=\"overflow-x:auto\"><table>\n<tr>";
  std::vector<std::string> columns = row_columns(rows);
  columns.erase(std::find(columns.begin(), columns.end(), "error"));
  columns.push_back("error");
  for (const auto& column : columns) html += "<th>" + html_escape(column) + "</th>";
  html += "</tr>\n";
  for (const auto& row : rows) {
    const std::string status = row_value(row, "status");
    html += status == "completed" ? "<tr>" : "<tr class=\"failed\">";
    for (const auto& column : columns) {
      const std::string cell = html_escape(row_value(row, column));
      const bool link = column == "run" && fs::exists(out / row_value(row, "run") / "report.html");
      html += link ? fmt::format("<td><a href=\"{0}/report.html\">{0}</a></td>", cell)
                   : "<td>" + cell + "</td>";
    }
    html += "</tr>\n";
  }
  html += "</table></div>\n</body></html>\n";
  write_file_atomic(out / "report.html", html);
  if (!quiet) {
    for (const auto& note : notes) fmt::print(stderr, "condense: note: {}\n", note);
    fmt::print(stderr, "condense: sweep \"{}\": {}; see {}\n", sweep.title, counts,
               (out / "report.html").string());
  }
}

}  // namespace condense
