#include "condense/series/run_table.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "condense/core/atomic_file.hpp"
#include "condense/report/measured.hpp"
#include "condense/rundir/layout.hpp"

namespace condense {

namespace fs = std::filesystem;

namespace {

std::string number(double v, const char* format = "{:.6g}") {
  return std::isfinite(v) ? fmt::format(fmt::runtime(format), v) : "";
}

}  // namespace

const std::vector<std::string>& layer_measure_columns() {
  static const std::vector<std::string> measures = {
      "mean_abs_cos", "max_mean_abs_cos", "peak_step",      "n_lines_at_peak",
      "n_lines",      "n_orientations",   "effective_rank", "rd",
      "max_rd",       "align_v1",         "max_align_v1"};
  return measures;
}

RunRow run_row(const RunData& run) {
  RunRow row;
  row.emplace_back("status", run.status());
  const RunSummary summary = run.summary.value_or(RunSummary{});
  row.emplace_back("steps", summary.steps ? std::to_string(*summary.steps) : "");
  row.emplace_back("training_seconds",
                   summary.training_seconds ? number(*summary.training_seconds, "{:.2f}") : "");
  const MetricsRow* last = run.metrics.empty() ? nullptr : &run.metrics.back();
  const std::pair<const char*, double MetricsRow::*> finals[] = {
      {"train_loss", &MetricsRow::train_loss},
      {"train_acc", &MetricsRow::train_acc},
      {"test_loss", &MetricsRow::test_loss},
      {"test_acc", &MetricsRow::test_acc}};
  for (const auto& [column, field] : finals)
    row.emplace_back(column, last ? number(last->*field) : "");
  // The extremes over training: the lowest losses and the highest accuracies.
  for (const auto& [column, field] : finals) {
    const bool loss = std::string(column).find("loss") != std::string::npos;
    double best = NAN;
    for (const auto& line : run.metrics) {
      const double v = line.*field;
      if (std::isfinite(v) && !(loss ? v >= best : v <= best)) best = v;
    }
    row.emplace_back(std::string(loss ? "min_" : "max_") + column, number(best));
  }

  for (const auto& layer : run.layers) {
    const std::vector<AnalysisRow> rows = run.rows_of(layer);
    if (rows.empty()) continue;
    const AnalysisRow& end = rows.back();
    const AnalysisRow* peak = &rows.front();
    double max_rd = NAN, max_align = NAN;
    for (const auto& r : rows) {
      if (r.mean_abs_cos > peak->mean_abs_cos) peak = &r;
      if (std::isfinite(r.rd) && !(r.rd <= max_rd)) max_rd = r.rd;
      if (std::isfinite(r.align_v1) && !(r.align_v1 <= max_align)) max_align = r.align_v1;
    }
    const std::string values[] = {number(end.mean_abs_cos, "{:.4f}"),
                                  number(peak->mean_abs_cos, "{:.4f}"),
                                  std::to_string(peak->step),
                                  std::to_string(peak->n_lines),
                                  std::to_string(end.n_lines),
                                  std::to_string(end.n_orientations),
                                  number(end.effective_rank, "{:.3f}"),
                                  number(end.rd, "{:.4g}"),
                                  number(max_rd, "{:.4g}"),
                                  number(end.align_v1, "{:.4f}"),
                                  number(max_align, "{:.4f}")};
    for (std::size_t i = 0; i < layer_measure_columns().size(); ++i)
      row.emplace_back(layer + "." + layer_measure_columns()[i], values[i]);
  }

  const MeasuredTimeScales measured = measure_time_scales(run);
  for (const char* scale : {"t_align(1e-2)", "t_align(1e-3)", "t_lin"}) {
    const auto it = std::find_if(measured.scales.begin(), measured.scales.end(),
                                 [&](const MeasuredTimeScale& s) { return s.name == scale; });
    row.emplace_back(std::string(scale) + "_predicted",
                     it == measured.scales.end() ? "" : number(it->predicted, "{:.1f}"));
    row.emplace_back(
        std::string(scale) + "_measured",
        it == measured.scales.end() || it->measured < 0 ? "" : std::to_string(it->measured));
  }
  return row;
}

std::vector<std::string> row_columns(const std::vector<RunRow>& rows) {
  std::vector<std::string> columns;
  for (const auto& row : rows)
    for (const auto& [column, value] : row)
      if (std::find(columns.begin(), columns.end(), column) == columns.end())
        columns.push_back(column);
  return columns;
}

std::string row_value(const RunRow& row, const std::string& column) {
  for (const auto& [c, value] : row)
    if (c == column) return value;
  return "";
}

std::string csv_field(const std::string& text) {
  std::string flat = text;
  std::replace(flat.begin(), flat.end(), '\n', ' ');
  if (flat.find_first_of(",\"") == std::string::npos) return flat;
  std::string quoted = "\"";
  for (char c : flat) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

std::string rows_csv(const std::vector<std::string>& columns, const std::vector<RunRow>& rows) {
  std::string csv;
  const auto line = [&](auto&& field) {
    for (std::size_t c = 0; c < columns.size(); ++c) {
      if (c) csv += ',';
      csv += csv_field(field(columns[c]));
    }
    csv += '\n';
  };
  line([](const std::string& column) { return column; });
  for (const auto& row : rows)
    line([&](const std::string& column) { return row_value(row, column); });
  return csv;
}

std::string folder_name(const std::string& label) {
  std::string name;
  for (char c : label)
    name += std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_' ||
                    c == '+' || c == '='
                ? c
                : '_';
  return name;
}

bool same_settings(const fs::path& root, const RunConfig& config) {
  const fs::path saved = RunDirectory{root}.config();
  if (!fs::exists(saved)) return false;
  try {
    RunConfig existing = load_config_text(read_file(saved), saved.string(), {});
    RunConfig wanted = config;
    existing.threads = wanted.threads = 0;
    return to_toml(existing) == to_toml(wanted);
  } catch (const std::exception&) {
    return false;
  }
}

}  // namespace condense
