#include "condense/pipeline/reanalysis.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

#include "condense/analysis/weight_tensors.hpp"
#include "condense/config/config.hpp"
#include "condense/core/atomic_file.hpp"
#include "condense/core/error.hpp"
#include "condense/pipeline/condensation_tracking.hpp"
#include "condense/rundir/cosines.hpp"
#include "condense/rundir/layout.hpp"
#include "condense/rundir/snapshot_index.hpp"

namespace condense {

namespace fs = std::filesystem;

namespace {

// A snapshot folder holds no order, and its files are read in natural order. A run trained outside
// condense lists its parameters in the model's order in config.toml ([external]): the layers are
// measured in that order, as the tracker measured them (names not listed follow).
void in_model_order(std::vector<NamedTensor>& tensors, const ExternalTraining& external) {
  if (external.parameters.empty()) return;
  auto position = [&](const NamedTensor& tensor) {
    const auto& listed = external.parameters;
    const auto it = std::find_if(listed.begin(), listed.end(),
                                 [&](const ExternalParameter& p) { return p.name == tensor.name; });
    return std::size_t(it - listed.begin());
  };
  std::stable_sort(tensors.begin(), tensors.end(), [&](const NamedTensor& a, const NamedTensor& b) {
    return position(a) < position(b);
  });
}

}  // namespace

MeasureOptions resolve_measure_options(const MeasureOverrides& overrides, MeasureOptions defaults) {
  if (overrides.threshold) defaults.threshold = *overrides.threshold;
  if (overrides.negligible) defaults.negligible = *overrides.negligible;
  if (overrides.with_bias) defaults.with_bias = true;
  if (!(defaults.threshold > 0 && defaults.threshold < 1))
    fail_input("the threshold must be a number in (0, 1), got {}", defaults.threshold);
  if (!(defaults.negligible >= 0 && defaults.negligible < 1))
    fail_input("the negligible fraction must be a number in [0, 1), got {}", defaults.negligible);
  return defaults;
}

Reanalysis reanalyze_run(const fs::path& root, const MeasureOverrides& overrides, bool quiet) {
  const RunDirectory run{root};
  std::error_code error;
  if (!fs::exists(run.config(), error))
    fail_input("{} is not a run directory: {} is missing", root.string(), run.config().string());
  const RunConfig config = load_config_text(read_file(run.config()), run.config().string(), {});
  Reanalysis result;
  result.options = resolve_measure_options(overrides, measure_options(config.track));
  if (!fs::exists(run.snapshot_index(), error))
    fail_input("{} is missing: the run has no snapshots to analyze", run.snapshot_index().string());
  const std::vector<SnapshotEntry> snapshots = read_snapshot_index(run.snapshots());

  CondensationRecorder recorder(run, result.options, quiet);
  // RD is measured against step 0 even when the index starts later; a series of checkpoints
  // without step 0 against its first.
  recorder.read_initial(snapshots.empty() ? 0 : snapshots.front().step);
  for (const auto& [step, directory] : snapshots) {
    if (!fs::is_directory(directory, error))
      fail_input("{} is listed in {} but missing", directory.string(),
                 run.snapshot_index().string());
    std::vector<NamedTensor> tensors = read_npy_weights(directory, false).tensors;
    in_model_order(tensors, config.external);
    recorder.record(step, group_layers(tensors, false, nullptr));
  }
  recorder.finish();
  result.snapshots = snapshots.size();
  result.rows = recorder.analysis().rows();
  if (!snapshots.empty()) result.last_step = snapshots.back().step;
  return result;
}

WeightsAnalysis analyze_weights(const fs::path& weights, const MeasureOverrides& overrides,
                                bool skip_unsupported, const fs::path& out,
                                const fs::path& cosines) {
  WeightsAnalysis result;
  result.options = resolve_measure_options(overrides, MeasureOptions{});
  WeightTensors tensors = read_weight_tensors(weights, skip_unsupported);
  result.skipped = tensors.skipped;
  result.layers =
      group_layers(tensors.tensors, skip_unsupported, &result.skipped, &result.unmeasurable);
  if (result.layers.empty() && !result.unmeasurable.empty())
    fail_input("{} holds no layer that can be measured: {}", weights.string(),
               fmt::join(result.unmeasurable, "; "));
  if (result.layers.empty())
    fail_input("{} holds no conv or linear weights; {}", weights.string(),
               "condense analyzes conv weights (out, in, kh, kw) and linear weights (out, in)");

  nlohmann::json& report = result.report;
  report["source"] = weights.string();
  report["threshold"] = result.options.threshold;
  report["negligible"] = result.options.negligible;
  report["with_bias"] = result.options.with_bias;
  report["layers"] = nlohmann::json::array();
  for (const auto& layer : result.layers) {
    result.measures.push_back(measure_layer(layer, nullptr, result.options, nullptr));
    nlohmann::json entry = measures_json(result.measures.back());
    entry["shape"] = layer.shape;
    entry.erase("rd");
    entry.erase("align_v1");
    entry.erase("align_v1_min");
    report["layers"].push_back(entry);
  }
  report["skipped"] = result.skipped;
  report["unmeasurable"] = result.unmeasurable;
  if (!cosines.empty()) write_cosines(cosines, result.measures);
  if (!out.empty()) write_file_atomic(out, report.dump(2) + "\n");
  return result;
}

}  // namespace condense
