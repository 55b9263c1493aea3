#pragma once
// `condense analyze`: the condensation measures of weights that already exist, either every
// snapshot of a run directory again (RUN/analysis.csv and RUN/cosines/ rewritten, as training
// wrote them) or weights trained elsewhere (NPY files or safetensors; docs/analysis.md).
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "condense/analysis/measures.hpp"
#include "condense/rundir/analysis_table.hpp"

namespace condense {

// Settings given on the command line, over the run's own track settings or the defaults.
struct MeasureOverrides {
  std::optional<double> threshold, negligible;
  bool with_bias = false;
};

// `defaults` with the overrides applied; InputError for a threshold outside (0, 1) or a negligible
// fraction outside [0, 1).
MeasureOptions resolve_measure_options(const MeasureOverrides& overrides, MeasureOptions defaults);

struct Reanalysis {
  MeasureOptions options;
  std::size_t snapshots = 0;
  std::vector<AnalysisRow> rows;  // every row written; the last snapshot's are rows with its step
  long last_step = -1;
};

// Measures every snapshot of RUN/snapshots/index.csv again and rewrites RUN/analysis.csv and
// RUN/cosines/; by default with the run's own track settings, so the files come out as training
// wrote them.
Reanalysis reanalyze_run(const std::filesystem::path& root, const MeasureOverrides& overrides,
                         bool quiet);

struct WeightsAnalysis {
  MeasureOptions options;
  std::vector<LayerWeights> layers;       // the layers measured, in order
  std::vector<LayerMeasures> measures;    // one per layer
  std::vector<std::string> skipped;       // tensors that are not conv or linear weights
  std::vector<std::string> unmeasurable;  // layers of NaN, infinite or only zero values, and why
  nlohmann::json report;                  // what --out writes
};

// Measures the conv and linear weights in `weights` (a folder of .npy files, one .npy file or a
// .safetensors file); writes the JSON report to `out` and the cosine matrices to `cosines` when
// they are given.
WeightsAnalysis analyze_weights(const std::filesystem::path& weights,
                                const MeasureOverrides& overrides, bool skip_unsupported,
                                const std::filesystem::path& out,
                                const std::filesystem::path& cosines);

}  // namespace condense
