#include "condense/pipeline/run_analysis.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace condense {

int direction_layer(const std::vector<LayerWeights>& layers) {
  for (std::size_t i = 0; i < layers.size(); ++i)
    if (layers[i].is_conv()) return int(i);
  return layers.empty() ? -1 : 0;
}

void RunAnalysis::keep_rows_before(long step) {
  std::erase_if(rows_, [step](const AnalysisRow& r) { return r.step >= step; });
}

std::vector<LayerMeasures> RunAnalysis::measure(long step,
                                                const std::vector<LayerWeights>& layers) {
  if (!initial_ && step == 0) initial_ = layers;
  const int aligned = direction_.weight.empty() ? -1 : direction_layer(layers);
  std::vector<double> direction;
  if (aligned >= 0) {
    direction_note_.clear();
    direction = direction_for_layer(direction_, layers[std::size_t(aligned)], options_.with_bias,
                                    &direction_note_);
  }

  keep_rows_before(step);
  std::vector<LayerMeasures> measures;
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const LayerWeights* initial = nullptr;
    if (initial_)
      for (const auto& layer : *initial_)
        if (layer.layer == layers[i].layer) initial = &layer;
    const bool use_direction = int(i) == aligned && !direction.empty();
    measures.push_back(
        measure_layer(layers[i], initial, options_, use_direction ? direction.data() : nullptr));
    rows_.push_back(analysis_row(step, measures.back()));
  }
  return measures;
}

std::string progress_summary(const std::vector<LayerMeasures>& measures) {
  if (measures.empty()) return "";
  // The first layer is the one condensation is usually watched in (and the one v₁ is for).
  const LayerMeasures& m = measures.front();
  std::string text = m.layer;
  if (std::isfinite(m.kernels.mean_abs_cos))
    text += fmt::format(" |cos| {:.2f}", m.kernels.mean_abs_cos);
  text += fmt::format(" lines {}", m.kernels.n_lines);
  if (std::isfinite(m.kernels.align)) text += fmt::format(" align {:.2f}", m.kernels.align);
  return text;
}

}  // namespace condense
