// condense analyze RUN_DIR [--threshold T] [--negligible F] [--with-bias]
// condense analyze --weights FILE_OR_DIR [--threshold T] [--negligible F] [--with-bias] [--out
// FILE]
//
// The first form measures every snapshot of a run again (RUN/snapshots/index.csv) and rewrites
// RUN/analysis.csv and RUN/cosines/, with the run's own track settings unless overridden. The
// second measures weights trained elsewhere: NPY files or a safetensors file (docs/analysis.md).
#include <fmt/format.h>

#include <cmath>
#include <filesystem>

#include "condense/analysis/weight_tensors.hpp"
#include "condense/cli/commands.hpp"
#include "condense/core/error.hpp"
#include "condense/core/npy.hpp"
#include "condense/pipeline/reanalysis.hpp"
#include "condense/rundir/layout.hpp"

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

MeasureOverrides overrides_of(const AnalyzeOptions& options) {
  MeasureOverrides overrides;
  if (options.threshold_given) overrides.threshold = options.threshold;
  if (options.negligible_given) overrides.negligible = options.negligible;
  overrides.with_bias = options.with_bias;
  return overrides;
}

std::string cell(double value, const char* format = "{:.4f}") {
  return std::isfinite(value) ? fmt::format(fmt::runtime(format), value) : std::string("-");
}

void analyze_run(const AnalyzeOptions& options) {
  const Reanalysis result = reanalyze_run(options.run, overrides_of(options), options.quiet);
  if (options.quiet) return;
  const MeasureOptions& measure = result.options;
  fmt::print("{} snapshots, threshold {}, negligible {}{}: {} rows -> {}\n", result.snapshots,
             measure.threshold, measure.negligible, measure.with_bias ? ", with bias" : "",
             result.rows.size(), RunDirectory{options.run}.analysis().string());
  fmt::print("{:>8}  {:<10} {:>8} {:>6} {:>6} {:>5} {:>8} {:>10} {:>10} {:>7}\n", "step", "layer",
             "|cos|", "orient", "lines", "negl", "eff.rank", "norm", "rd", "align");
  for (const auto& r : result.rows)
    if (r.step == result.last_step)
      fmt::print("{:>8}  {:<10} {:>8} {:>6} {:>6} {:>5} {:>8} {:>10} {:>10} {:>7}\n", r.step,
                 r.layer, cell(r.mean_abs_cos), r.n_orientations, r.n_lines, r.n_negligible,
                 cell(r.effective_rank, "{:.3f}"), cell(r.norm, "{:.4g}"), cell(r.rd, "{:.4g}"),
                 cell(r.align_v1, "{:.3f}"));
}

void analyze_weights(const AnalyzeOptions& options) {
  const WeightsAnalysis result =
      analyze_weights(options.weights, overrides_of(options), options.skip_unsupported, options.out,
                      options.cosines);
  if (options.quiet) return;
  for (const auto& why : result.unmeasurable)
    fmt::print(stderr, "condense: warning: {}: {}; the layer is not measured\n", options.weights,
               why);
  fmt::print("{:<24} {:<18} {:>5} {:>6} {:>8} {:>6} {:>6} {:>5} {:>8} {:>10}\n", "tensor", "shape",
             "M", "d", "|cos|", "orient", "lines", "negl", "eff.rank", "norm");
  for (std::size_t i = 0; i < result.layers.size(); ++i) {
    const LayerWeights& layer = result.layers[i];
    const LayerMeasures& m = result.measures[i];
    const KernelMeasures& k = m.kernels;
    fmt::print("{:<24} {:<18} {:>5} {:>6} {:>8} {:>6} {:>6} {:>5} {:>8} {:>10}\n", layer.layer,
               shape_string(layer.shape), k.kernels, k.kernel_size, cell(k.mean_abs_cos),
               k.n_orientations, k.n_lines, k.n_negligible, cell(k.effective_rank, "{:.3f}"),
               cell(m.norm, "{:.4g}"));
  }
  for (const auto& s : result.skipped) fmt::print("skipped {}\n", s);
  if (!options.out.empty()) fmt::print("-> {}\n", options.out);
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
