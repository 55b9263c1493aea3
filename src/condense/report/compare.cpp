#include "condense/report/compare.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "condense/core/atomic_file.hpp"
#include "condense/core/error.hpp"
#include "condense/report/figures.hpp"
#include "condense/report/gnuplot.hpp"
#include "condense/report/run_data.hpp"

namespace condense {

namespace fs = std::filesystem;

namespace {

const std::vector<std::string> kTrainingMetrics = {"train_loss", "train_acc", "test_loss",
                                                   "test_acc", "lr"};
const std::vector<std::string> kAnalysisMetrics = {
    "mean_abs_cos", "n_lines", "n_orientations", "n_negligible", "effective_rank",
    "norm",         "rd",      "align_v1",       "align_v1_min"};

bool is_analysis_metric(const std::string& metric) {
  return std::find(kAnalysisMetrics.begin(), kAnalysisMetrics.end(), metric) !=
         kAnalysisMetrics.end();
}

double analysis_value(const AnalysisRow& r, const std::string& metric) {
  if (metric == "mean_abs_cos") return r.mean_abs_cos;
  if (metric == "n_lines") return r.n_lines;
  if (metric == "n_orientations") return r.n_orientations;
  if (metric == "n_negligible") return r.n_negligible;
  if (metric == "effective_rank") return r.effective_rank;
  if (metric == "norm") return r.norm;
  if (metric == "rd") return r.rd;
  if (metric == "align_v1") return r.align_v1;
  return r.align_v1_min;
}

double metrics_value(const MetricsRow& m, const std::string& metric) {
  if (metric == "train_loss") return m.train_loss;
  if (metric == "train_acc") return m.train_acc;
  if (metric == "test_loss") return m.test_loss;
  if (metric == "test_acc") return m.test_acc;
  return m.lr;
}

std::string pretty(const std::string& metric) {
  if (metric == "align_v1") return "mean |cos(W_β, v_1)|";
  if (metric == "mean_abs_cos") return "mean |cos| between kernels";
  if (metric == "rd") return "RD = |θ(t) − θ(0)| / |θ(0)|";
  std::string text = metric;
  std::replace(text.begin(), text.end(), '_', ' ');
  return text;
}

std::string layer_for(const RunData& run, const CompareOptions& options) {
  if (!options.layer.empty()) return options.layer;
  if (options.metric.rfind("align_v1", 0) == 0 && !run.aligned_layer().empty())
    return run.aligned_layer();
  return run.layers.empty() ? (run.analysis.empty() ? "" : run.analysis.front().layer)
                            : run.layers.front();
}

// --layer names a layer some run has, for a metric measured per layer.
void check_layer(const CompareOptions& options, const std::vector<RunData>& runs, bool analysis) {
  if (!analysis)
    fail_input("--layer {}: {} is not measured per layer; --layer goes with {}", options.layer,
               options.metric, fmt::join(kAnalysisMetrics, ", "));
  std::vector<std::string> layers;
  for (const RunData& run : runs) {
    std::vector<std::string> of_run = run.layers;
    for (const auto& row : run.analysis) of_run.push_back(row.layer);
    for (const auto& layer : of_run)
      if (std::find(layers.begin(), layers.end(), layer) == layers.end()) layers.push_back(layer);
  }
  if (std::find(layers.begin(), layers.end(), options.layer) != layers.end()) return;
  if (layers.empty())
    fail_input("--layer {}: no run has a measured layer (analysis.csv); condense analyze RUN "
               "measures a run",
               options.layer);
  fail_input("--layer {}: no run has a layer {}; the runs have {}", options.layer, options.layer,
             fmt::join(layers, ", "));
}

}  // namespace

const std::vector<std::string>& comparable_metrics() {
  static const std::vector<std::string> all = [] {
    std::vector<std::string> v = kTrainingMetrics;
    v.insert(v.end(), kAnalysisMetrics.begin(), kAnalysisMetrics.end());
    return v;
  }();
  return all;
}

CompareResult write_comparison(const CompareOptions& options) {
  const auto& metrics = comparable_metrics();
  if (std::find(metrics.begin(), metrics.end(), options.metric) == metrics.end())
    fail_input("--metric: unknown metric \"{}\"; expected one of {}", options.metric,
               fmt::join(metrics, ", "));
  if (options.runs.empty()) fail_input("compare: give at least one run directory");
  if (!options.labels.empty() && options.labels.size() != options.runs.size())
    fail_input("--labels: {} labels for {} runs; give one per run", options.labels.size(),
               options.runs.size());

  CompareResult result;
  std::vector<RunData> runs;
  for (const auto& path : options.runs) runs.push_back(load_run(path));
  const bool analysis = is_analysis_metric(options.metric);
  if (!options.layer.empty()) check_layer(options, runs, analysis);
  make_directories(options.out / "data");

  const bool log_y = options.metric == "rd" || options.metric == "norm" ||
                     options.metric.find("loss") != std::string::npos;
  std::string plot, summary = "label,run,layer,final_step,final,min,max\n";
  std::vector<HeatmapPanel> panels;
  const std::string x = options.log_x ? "($1 > 0 ? $1 : 0.5)" : "1";
  for (std::size_t i = 0; i < runs.size(); ++i) {
    const RunData& run = runs[i];
    const std::string label = options.labels.empty() ? run.name : options.labels[i];
    const std::string layer = analysis ? layer_for(run, options) : "";
    std::vector<std::pair<long, double>> series;
    if (analysis) {
      for (const auto& r : run.rows_of(layer))
        series.emplace_back(r.step, analysis_value(r, options.metric));
    } else {
      for (const auto& m : run.metrics)
        series.emplace_back(m.step, metrics_value(m, options.metric));
    }
    std::erase_if(series, [](const auto& p) { return !std::isfinite(p.second); });
    if (series.empty()) {
      result.notes.push_back(fmt::format("{}: no {} values{}", run.root.string(), options.metric,
                                         layer.empty() ? "" : " for layer " + layer));
    } else {
      std::string table = "step," + options.metric + "\n";
      double low = series.front().second, high = low;
      for (const auto& [step, value] : series) {
        table += fmt::format("{},{:.8g}\n", step, value);
        low = std::min(low, value);
        high = std::max(high, value);
      }
      const std::string file = fmt::format("data/run_{}.csv", i);
      write_file_atomic(options.out / file, table);
      summary += fmt::format("{},{},{},{},{:.8g},{:.8g},{:.8g}\n", label, run.root.string(), layer,
                             series.back().first, series.back().second, low, high);
      const int lt = int(i % 8) + 1;
      plot += fmt::format("{}'{}' using {}:2 with linespoints lt {} title {}",
                          plot.empty() ? "plot " : ", ", file, x, lt, gnuplot_quote(label));
      if (options.metric == "align_v1" && !run.predicted_alignment.empty()) {
        std::string curve = "step,predicted_alignment\n";
        for (const auto& [step, value] : run.predicted_alignment)
          if (std::isfinite(value)) curve += fmt::format("{},{:.8g}\n", step, value);
        const std::string predicted = fmt::format("data/run_{}_predicted.csv", i);
        write_file_atomic(options.out / predicted, curve);
        plot += fmt::format(", '{}' using {}:2 with lines lt {} dt 2 notitle", predicted, x, lt);
      }
    }
    // The final heatmap of the compared layer (or the first tracked one).
    const std::string heat_layer =
        !layer.empty() && std::find(run.layers.begin(), run.layers.end(), layer) != run.layers.end()
            ? layer
            : (run.layers.empty() ? "" : run.layers.front());
    if (heat_layer.empty() || run.cosine_steps.empty()) {
      result.notes.push_back(run.root.string() + ": no cosine matrices for the heatmap grid");
      continue;
    }
    if (auto final = load_cosines(run, run.cosine_steps.back(), heat_layer, &result.notes)) {
      panels.push_back(write_heatmap_panel(*final, final->order, options.out,
                                           fmt::format("heatmap_run_{}", i), label));
      panels.back().subtitle = fmt::format("{}, step {}", heat_layer, final->step);
    }
  }
  if (plot.empty()) fail_input("compare: none of the runs has values of {}", options.metric);
  write_file_atomic(options.out / "compare.csv", summary);

  std::string body = "set datafile separator comma\nset key outside right top font ',7'\n";
  body += options.log_x
              ? "set logscale x\nset xlabel 'step (log; step 0 at 0.5)'\nset xrange [0.5:*]\n"
              : "set xlabel 'step'\n";
  if (log_y) body += "set logscale y\nset format y '10^{%T}'\n";
  body += "set ylabel " + gnuplot_quote(pretty(options.metric)) + "\n";
  if (options.metric == "align_v1")
    body += "set title 'alignment with v_1: measured (points) and predicted (dashed)'\n";
  body += plot + "\n";
  const std::string stem = "compare_" + options.metric;
  render_figure(options.out, {stem, "Comparison of " + options.metric, 7, 3, body}, options.pdf);
  result.figures.push_back(stem);

  if (!panels.empty()) {
    const int columns = int(std::min<std::size_t>(panels.size(), 4));
    const int rows = int((panels.size() + 3) / 4);
    render_figure(options.out,
                  {"final_heatmaps", "Final cosine heatmaps", std::min(7.5, 0.9 + 1.7 * columns),
                   0.5 + 2.1 * rows, heatmap_row_body(panels, columns)},
                  options.pdf);
    result.figures.push_back("final_heatmaps");
  }
  return result;
}

}  // namespace condense
