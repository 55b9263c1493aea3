#pragma once
// A run directory as the report sees it: everything condense wrote there, read from disk (never
// from a trainer's memory), so that a report can be made for any run, old or interrupted. What is
// missing or unreadable is listed in `notes`, and everything else is still there to show.
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "condense/core/types.hpp"
#include "condense/rundir/analysis_table.hpp"
#include "condense/rundir/metrics.hpp"
#include "condense/rundir/prediction_record.hpp"
#include "condense/rundir/summary.hpp"

namespace condense {

// A tracked layer's cosine matrix at one step, rows and columns in `order`.
struct CosineMatrix {
  long step = 0;
  std::string layer;
  Matrix<double> cosines;   // (M, M), kernels in their own order
  std::vector<long> order;  // the cluster-sorted kernel order at this step
};

struct RunData {
  std::filesystem::path root;
  std::string name;  // the run directory's folder name

  std::optional<std::string> config_text;
  std::optional<RunSummary> summary;
  std::optional<PredictionRecord> prediction;
  std::vector<MetricsRow> metrics;
  std::vector<AnalysisRow> analysis;
  std::vector<std::pair<long, double>> predicted_alignment;  // (step, predicted mean |cos|)
  std::vector<long> cosine_steps;   // steps with a cosines/step_<k> folder, ascending
  std::vector<std::string> layers;  // layers with a cosine matrix (M ≥ 2), or without matrices
                                    // those with a measured mean |cos|; network order
  std::vector<std::string> notes;   // what is missing or could not be read

  std::vector<AnalysisRow> rows_of(const std::string& layer) const;
  // The analysis row of `layer` at `step`, or nullptr.
  const AnalysisRow* row_at(const std::string& layer, long step) const;
  const MetricsRow* metrics_at(long step) const;
  // The snapshot step nearest to `step` among cosine_steps (which must not be empty).
  long nearest_cosine_step(double step) const;
  // The predicted number of optimizer steps of a time scale ("t_align_1e-2", "t_lin"), if any.
  std::optional<double> predicted_steps(const std::string& scale) const;
  // The first layer with a predicted direction (align_v1 measured), or "".
  std::string aligned_layer() const;
  // prediction.json's scope.network: the network is deeper than the theory's two layers, so v₁ is
  // the two-layer prediction for its first layer (scope.layer) and the alignment is only measured.
  // "" for the theory's own network, or without a prediction.
  std::string deeper_network() const { return prediction ? prediction->scope_network : ""; }
  // "completed", "interrupted", "diverged", ... from summary.json, or "unknown".
  std::string status() const;
};

// Reads a run directory. Throws InputError if `root` is not a directory or holds none of the files
// a run writes; a partly written run is read as far as it goes, with notes.
RunData load_run(const std::filesystem::path& root);

// Reads the cosine matrix of `layer` at `step` (cosines/step_<k>/<layer>.npy and .order.npy).
// Returns nullopt, with a note appended, when the files are missing or malformed.
std::optional<CosineMatrix> load_cosines(const RunData& run, long step, const std::string& layer,
                                         std::vector<std::string>* notes);

// The weights of parameter `name` (e.g. "conv1.weight") in snapshot `step`, or nullopt.
std::optional<std::pair<std::vector<std::int64_t>, std::vector<double>>> load_snapshot_parameter(
    const RunData& run, long step, const std::string& name);
std::vector<long> snapshot_steps(const RunData& run);  // steps with a snapshots/step_<k> folder

}  // namespace condense
