// The summary of a sweep: sweep.csv, the phase diagrams and report.html (series/sweep.hpp).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "condense/core/atomic_file.hpp"
#include "condense/report/gnuplot.hpp"
#include "condense/report/html_report.hpp"
#include "condense/report/phase_diagram.hpp"
#include "condense/series/series_page.hpp"
#include "condense/series/sweep.hpp"

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
  return std::find(layer_measure_columns().begin(), layer_measure_columns().end(), metric) ==
         layer_measure_columns().end();
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

// The runs of each cell of a figure (x + nx·y): the sum and count of the finished runs' values of
// `column`, and how many diverged or failed.
struct Cells {
  std::size_t nx = 0, ny = 0;
  std::vector<double> sum;
  std::vector<int> count, diverged, failed;
  int per_cell = 0;  // runs in a cell (seeds, axes the figure does not show)
};

Cells gather_cells(const Sweep& sweep, const SweepFigure& figure, const std::vector<RunRow>& rows,
                   const std::string& column) {
  const SweepAxis& x = sweep.axes[figure.x];
  Cells cells;
  cells.nx = x.values.size();
  cells.ny = figure.y ? sweep.axes[*figure.y].values.size() : 1;
  const std::size_t n = cells.nx * cells.ny;
  cells.sum.assign(n, 0.0);
  cells.count.assign(n, 0);
  cells.diverged.assign(n, 0);
  cells.failed.assign(n, 0);
  auto& sum = cells.sum;
  auto& count = cells.count;
  auto& diverged = cells.diverged;
  auto& failed = cells.failed;
  const std::size_t nx = cells.nx;
  for (std::size_t i = 0; i < sweep.runs.size(); ++i) {
    const SweepRun& run = sweep.runs[i];
    if (std::any_of(figure.where.begin(), figure.where.end(), [&](const auto& condition) {
          return run.value[condition.first] != condition.second;
        }))
      continue;
    const std::size_t cell = (figure.y ? run.value[*figure.y] : 0) * nx + run.value[figure.x];
    if (cell == 0) ++cells.per_cell;
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
  return cells;
}

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
  const Cells cells = gather_cells(sweep, figure, rows, column);
  const std::size_t nx = cells.nx, ny = cells.ny;
  const auto& count = cells.count;
  const auto& sum = cells.sum;
  const auto& diverged = cells.diverged;
  const auto& failed = cells.failed;
  const int per_cell = cells.per_cell;
  PhaseDiagram d;
  d.name = "phase_" + figure.name;
  const auto axis_label = [](const SweepAxis& axis) {
    const bool named =
        axis.name != axis.key && axis.name != axis.key.substr(axis.key.rfind('.') + 1);
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
    notes.push_back(
        fmt::format("figure {}: no finished run has a value of {} yet", figure.name, column));
    return std::nullopt;
  }
  const bool logarithmic = figure.metric == "rd" || figure.metric == "max_rd" ||
                           figure.metric.find("loss") != std::string::npos;
  d.log_color = figure.log_color.value_or(logarithmic && positive);
  if (d.log_color && !positive)
    notes.push_back(
        fmt::format("figure {}: a log colour scale leaves out values ≤ 0", figure.name));
  d.title = fmt::format(
      "{} over {}{}",
      column == figure.metric
          ? column
          : column.substr(0, column.size() - figure.metric.size() - 1) + ": " + figure.metric,
      x.name, y ? " and " + y->name : "");
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

  SeriesPage page;
  page.title = sweep.title;
  page.description = sweep.description;
  page.intro_html = fmt::format(
      "<p>Sweep file: <code>{}</code>. {} runs: {}. The numbers are in <a "
      "href=\"sweep.csv\">sweep.csv</a>; {}. Running the same command again trains what is "
      "missing.</p>",
      html_escape(sweep.file.string()), rows.size(), html_escape(counts),
      sweep.run_reports ? "each run's folder has its report.html"
                        : "runs have no report of their own (sweep.run_reports = false): "
                          "<code>condense report RUN</code> makes one");
  page.notes = notes;
  if (!drawn.empty()) {
    PageSection diagrams{"Phase diagrams", {}};
    for (const auto& d : drawn)
      diagrams.figures.push_back({html_escape(d.title),
                                  {{fs::path("figures") / (d.name + ".png"),
                                    fs::path("figures") / (d.name + ".pdf"), d.title}}});
    page.before_table.push_back(std::move(diagrams));
  }
  page.columns = row_columns(rows);
  page.columns.erase(std::find(page.columns.begin(), page.columns.end(), "error"));
  page.columns.push_back("error");
  page.rows = rows;
  page.shade_unfinished = true;
  write_file_atomic(out / "report.html", series_page_html(page, out));
  if (!quiet) {
    for (const auto& note : notes) fmt::print(stderr, "condense: note: {}\n", note);
    fmt::print(stderr, "condense: sweep \"{}\": {}; see {}\n", sweep.title, counts,
               (out / "report.html").string());
  }
}

}  // namespace condense
