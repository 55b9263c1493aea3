#pragma once
// `condense compare RUN_A RUN_B ... --metric M`: several runs in one figure (e.g. init scales or
// activations), and a grid of their final cosine heatmaps.
#include <filesystem>
#include <string>
#include <vector>

namespace condense {

struct CompareOptions {
  std::vector<std::filesystem::path> runs;
  std::vector<std::string> labels;  // one per run; empty: the run folders' names
  std::string metric = "align_v1";
  std::string layer;  // empty: the aligned layer (align_v1) or the first tracked one
  std::filesystem::path out = "comparison";
  bool log_x = false, pdf = true;
};

// The metrics a comparison can draw: columns of metrics.csv and of analysis.csv.
const std::vector<std::string>& comparable_metrics();

struct CompareResult {
  std::vector<std::string> figures;  // stems written in `out`
  std::vector<std::string> notes;
};

// Writes OUT/compare_<metric>.{gp,png,pdf}, OUT/final_heatmaps.{gp,png,pdf}, OUT/data/ and
// OUT/compare.csv (one row per run: label, run, final, min and max of the metric). Throws
// InputError for an unknown metric, a run that is not a run directory, or when no run has the
// metric.
CompareResult write_comparison(const CompareOptions& options);

}  // namespace condense
