#include "condense/report/measured.hpp"

#include <fmt/format.h>

#include <cmath>
#include <limits>

namespace condense {

long loss_drop_step(const RunData& run, double drop) {
  if (run.metrics.empty() || !std::isfinite(run.metrics.front().train_loss)) return -1;
  const double initial = run.metrics.front().train_loss;
  for (const auto& m : run.metrics)
    if (m.train_loss <= (1 - drop) * initial) return m.step;
  return -1;
}

MeasuredTimeScales measure_time_scales(const RunData& run) {
  MeasuredTimeScales result;
  const std::string layer = run.aligned_layer();
  const auto rows = layer.empty() ? std::vector<AnalysisRow>() : run.rows_of(layer);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (const auto& [key, delta, label] : std::vector<std::tuple<std::string, double, std::string>>{
           {"t_align_1e-2", 1e-2, "t_align(1e-2)"}, {"t_align_1e-3", 1e-3, "t_align(1e-3)"}}) {
    MeasuredTimeScale scale{label, run.predicted_steps(key).value_or(nan), -1,
                            fmt::format("first snapshot with 1 − align_v1 ≤ {:g} ({})", delta,
                                        layer.empty() ? "no alignment measured" : layer)};
    for (const auto& r : rows)
      if (std::isfinite(r.align_v1) && 1 - r.align_v1 <= delta) {
        scale.measured = r.step;
        break;
      }
    result.scales.push_back(scale);
  }
  result.scales.push_back({"t_lin", run.predicted_steps("t_lin").value_or(nan), loss_drop_step(run),
                           "first step with training loss 10% below its start"});

  // Orientations at the snapshot nearest the predicted end of the linear stage (else the peak of
  // mean |cos|): the count the multiplicity bound 2p speaks of.
  const std::string counted =
      layer.empty() ? (run.layers.empty() ? "" : run.layers.front()) : layer;
  if (!counted.empty()) {
    const auto counted_rows = run.rows_of(counted);
    const AnalysisRow* at = nullptr;
    const auto t_lin = run.predicted_steps("t_lin");
    for (const auto& r : counted_rows) {
      if (t_lin) {
        if (!at || std::abs(double(r.step) - *t_lin) < std::abs(double(at->step) - *t_lin)) at = &r;
      } else if (std::isfinite(r.mean_abs_cos) && (!at || r.mean_abs_cos > at->mean_abs_cos)) {
        at = &r;
      }
    }
    if (at)
      result.orientations_note = fmt::format(
          "{} orientations on {} lines in {} at step {} ({}){}", at->n_orientations, at->n_lines,
          counted, at->step, t_lin ? "the snapshot nearest the predicted t_lin" : "peak mean |cos|",
          at->n_negligible > 0 ? fmt::format(", {} negligible kernels set aside", at->n_negligible)
                               : "");
  }
  return result;
}

}  // namespace condense
