// condense analyze RUN_DIR [--threshold T] [--negligible F] [--with-bias]
// condense analyze --weights FILE_OR_DIR [--threshold T] [--negligible F] [--with-bias] [--out
// FILE]
//
// The first form measures every snapshot of a run again (RUN/snapshots/index.csv) and rewrites
// RUN/analysis.csv and RUN/cosines/, with the run's own track settings unless overridden. The
// second measures weights trained elsewhere: NPY files or a safetensors file (docs/analysis.md).
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <charconv>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "condense/rundir/analysis_table.hpp"
#include "condense/rundir/cosines.hpp"
#include "condense/analysis/weight_tensors.hpp"
#include "condense/cli/commands.hpp"
#include "condense/pipeline/condensation_tracking.hpp"
#include "condense/config/config.hpp"
#include "condense/core/atomic_file.hpp"
#include "condense/core/error.hpp"
#include "condense/core/npy.hpp"
#include "condense/rundir/snapshot_index.hpp"

namespace condense {

namespace fs = std::filesystem;

namespace {

struct AnalyzeOptions {
  std::string run;
  std::string weights;
  std::string out;
  std::string cosines;
  double threshold = 0;
  double negligible = 0;
  bool with_bias = false;
  bool skip_unsupported = false;
  bool quiet = false;
  bool threshold_given = false, negligible_given = false;
};

void check_options(const MeasureOptions& options) {
  if (!(options.threshold > 0 && options.threshold < 1))
    fail_input("--threshold must be a number in (0, 1), got {}", options.threshold);
  if (!(options.negligible >= 0 && options.negligible < 1))
    fail_input("--negligible must be a number in [0, 1), got {}", options.negligible);
}

MeasureOptions resolve_options(const AnalyzeOptions& options, MeasureOptions defaults) {
  if (options.threshold_given) defaults.threshold = options.threshold;
  if (options.negligible_given) defaults.negligible = options.negligible;
  if (options.with_bias) defaults.with_bias = true;
  check_options(defaults);
  return defaults;
}

std::string cell(double value, const char* format = "{:.4f}") {
  return std::isfinite(value) ? fmt::format(fmt::runtime(format), value) : std::string("-");
}

void analyze_run(const AnalyzeOptions& options) {
  const RunDirectory run{options.run};
  if (!fs::exists(run.config()))
    fail_input("{} is not a run directory: {} is missing", options.run, run.config().string());
  const RunConfig config = load_config_text(read_file(run.config()), run.config().string(), {});
  const MeasureOptions measure = resolve_options(options, measure_options(config.track));
  std::error_code error;
  if (!fs::exists(run.snapshot_index(), error))
    fail_input("{} is missing: the run has no snapshots to analyze", run.snapshot_index().string());
  const auto snapshots = read_snapshot_index(run.snapshots());

  CondensationRecorder recorder(run, measure, options.quiet);
  // RD is measured against step 0 even when the index starts later.
  recorder.read_initial();
  for (const auto& [step, directory] : snapshots) {
    if (!fs::is_directory(directory, error))
      fail_input("{} is listed in {} but missing", directory.string(),
                 run.snapshot_index().string());
    recorder.record(step, group_layers(read_npy_weights(directory, false).tensors, false, nullptr));
  }
  recorder.finish();
  if (options.quiet) return;
  fmt::print("{} snapshots, threshold {}, negligible {}{}: {} rows -> {}\n", snapshots.size(),
             measure.threshold, measure.negligible, measure.with_bias ? ", with bias" : "",
             recorder.analysis().rows().size(), run.analysis().string());
  fmt::print("{:>8}  {:<10} {:>8} {:>6} {:>6} {:>5} {:>8} {:>10} {:>10} {:>7}\n", "step", "layer",
             "|cos|", "orient", "lines", "negl", "eff.rank", "norm", "rd", "align");
  for (const auto& r : recorder.analysis().rows())
    if (!snapshots.empty() && r.step == snapshots.back().step)
      fmt::print("{:>8}  {:<10} {:>8} {:>6} {:>6} {:>5} {:>8} {:>10} {:>10} {:>7}\n", r.step,
                 r.layer, cell(r.mean_abs_cos), r.n_orientations, r.n_lines, r.n_negligible,
                 cell(r.effective_rank, "{:.3f}"), cell(r.norm, "{:.4g}"), cell(r.rd, "{:.4g}"),
                 cell(r.align_v1, "{:.3f}"));
}

void analyze_weights(const AnalyzeOptions& options) {
  const MeasureOptions measure = resolve_options(options, MeasureOptions{});
  WeightTensors tensors = read_weight_tensors(options.weights, options.skip_unsupported);
  std::vector<std::string> skipped = tensors.skipped, unmeasurable;
  const std::vector<LayerWeights> layers =
      group_layers(tensors.tensors, options.skip_unsupported, &skipped, &unmeasurable);
  if (layers.empty() && !unmeasurable.empty())
    fail_input("{} holds no layer that can be measured: {}", options.weights,
               fmt::join(unmeasurable, "; "));
  if (layers.empty())
    fail_input("{} holds no conv or linear weights; {}", options.weights,
               "condense analyzes conv weights (out, in, kh, kw) and linear weights (out, in)");
  if (!options.quiet)
    for (const auto& why : unmeasurable)
      fmt::print(stderr, "condense: warning: {}: {}; the layer is not measured\n", options.weights,
                 why);

  nlohmann::json report;
  report["source"] = options.weights;
  report["threshold"] = measure.threshold;
  report["negligible"] = measure.negligible;
  report["with_bias"] = measure.with_bias;
  report["layers"] = nlohmann::json::array();
  std::vector<LayerMeasures> all;
  if (!options.quiet)
    fmt::print("{:<24} {:<18} {:>5} {:>6} {:>8} {:>6} {:>6} {:>5} {:>8} {:>10}\n", "tensor",
               "shape", "M", "d", "|cos|", "orient", "lines", "negl", "eff.rank", "norm");
  for (const auto& layer : layers) {
    const LayerMeasures m = measure_layer(layer, nullptr, measure, nullptr);
    const KernelMeasures& k = m.kernels;
    if (!options.quiet)
      fmt::print("{:<24} {:<18} {:>5} {:>6} {:>8} {:>6} {:>6} {:>5} {:>8} {:>10}\n", layer.layer,
                 shape_string(layer.shape), k.kernels, k.kernel_size, cell(k.mean_abs_cos),
                 k.n_orientations, k.n_lines, k.n_negligible, cell(k.effective_rank, "{:.3f}"),
                 cell(m.norm, "{:.4g}"));
    nlohmann::json entry = measures_json(m);
    entry["shape"] = layer.shape;
    entry.erase("rd");
    entry.erase("align_v1");
    entry.erase("align_v1_min");
    report["layers"].push_back(entry);
    all.push_back(m);
  }
  if (!options.cosines.empty()) write_cosines(options.cosines, all);
  report["skipped"] = skipped;
  report["unmeasurable"] = unmeasurable;
  if (!options.quiet)
    for (const auto& s : skipped) fmt::print("skipped {}\n", s);
  if (!options.out.empty()) {
    write_file_atomic(options.out, report.dump(2) + "\n");
    if (!options.quiet) fmt::print("-> {}\n", options.out);
  }
}

}  // namespace

void add_analyze_command(CLI::App& app) {
  auto options = std::make_shared<AnalyzeOptions>();
  auto* command = app.add_subcommand(
      "analyze",
      "Measure condensation: every snapshot of a run directory again, or weights "
      "trained elsewhere (--weights: NPY files or safetensors)");
  auto* run = command->add_option("RUN_DIR", options->run,
                                  "Run directory: rewrite RUN/analysis.csv and RUN/cosines/");
  auto* weights = command->add_option(
      "--weights", options->weights,
      "A directory of .npy files, one .npy file or a .safetensors file of conv (out, in, kh, kw) "
      "and linear (out, in) weights");
  run->excludes(weights);
  command->add_option("--threshold", options->threshold,
                      "Cosine at or above which kernels share an orientation or line (default: the "
                      "run's track.threshold, else 0.95)");
  command->add_option("--negligible", options->negligible,
                      "Set aside kernels with norm below this fraction of the layer's largest "
                      "(default: the run's track.negligible, else 0.01)");
  command->add_flag("--with-bias", options->with_bias, "Append each kernel's bias to its vector");
  command->add_option("--out", options->out, "With --weights: write the measures as JSON here");
  command->add_option("--cosines", options->cosines,
                      "With --weights: write <layer>.npy cosine matrices, <layer>.order.npy and "
                      "clusters.json here");
  command->add_flag("--skip-unsupported", options->skip_unsupported,
                    "With --weights: skip tensors that are not conv/linear weights or their biases "
                    "(batch-norm statistics, embeddings) instead of failing");
  command->add_flag("--quiet", options->quiet, "No output but errors");
  command->callback([options, command] {
    options->threshold_given = command->count("--threshold") > 0;
    options->negligible_given = command->count("--negligible") > 0;
    if (options->run.empty() == options->weights.empty())
      fail_input("give either a run directory or --weights FILE_OR_DIR");
    if (!options->run.empty() && (!options->out.empty() || !options->cosines.empty()))
      fail_input(
          "--out and --cosines go with --weights; a run's analysis goes into the run "
          "directory");
    try {
      if (!options->run.empty())
        analyze_run(*options);
      else
        analyze_weights(*options);
    } catch (const fs::filesystem_error& e) {
      // A path the system refuses (too long, not permitted) is the user's input, not a bug.
      fail_io("cannot read {}: {}",
              e.path1().empty() ? (options->run.empty() ? options->weights : options->run)
                                : e.path1().string(),
              e.code().message());
    }
  });
}

}  // namespace condense
