#pragma once
// The analysis of a run: every conv and linear layer measured at each snapshot step, against the
// step-0 weights (RD) and, for one layer, a predicted direction (alignment). The trainer's hook
// and `condense analyze RUN` both feed it, so both write the same rows.
#include <optional>
#include <string>
#include <vector>

#include "condense/analysis/measures.hpp"
#include "condense/rundir/analysis_table.hpp"

namespace condense {

class RunAnalysis {
 public:
  explicit RunAnalysis(MeasureOptions options) : options_(options) {}

  const MeasureOptions& options() const { return options_; }

  // The weights at step 0, for RD. Without them, measure() uses its first call's weights when
  // that call is step 0, and leaves RD empty otherwise.
  void set_initial(std::vector<LayerWeights> initial) { initial_ = std::move(initial); }
  bool has_initial() const { return initial_.has_value(); }

  // A predicted direction (v₁ of docs/science.md §2.3). It is compared with the first conv layer,
  // or the first layer of a net without conv layers. When it does not fit that layer, measure()
  // leaves the alignment empty and direction_note() says why.
  void set_direction(PredictedDirection direction) { direction_ = std::move(direction); }
  const std::string& direction_note() const { return direction_note_; }

  // Rows measured earlier (a resumed run). Rows at or after a measured step are replaced.
  void set_rows(std::vector<AnalysisRow> rows) { rows_ = std::move(rows); }
  void keep_rows_before(long step);

  // Measures every layer at `step`, replacing the rows of steps ≥ `step`; returns the measures.
  std::vector<LayerMeasures> measure(long step, const std::vector<LayerWeights>& layers);

  const std::vector<AnalysisRow>& rows() const { return rows_; }
  std::string csv() const { return analysis_csv(rows_); }

 private:
  MeasureOptions options_;
  std::optional<std::vector<LayerWeights>> initial_;
  PredictedDirection direction_;
  std::string direction_note_;
  std::vector<AnalysisRow> rows_;
};

// The index of the layer a predicted direction is compared with: the first conv layer, or the
// first layer when there is none; −1 for no layers.
int direction_layer(const std::vector<LayerWeights>& layers);

// A one-line summary for progress output: "conv1 |cos| 0.93 lines 2 align 0.99".
std::string progress_summary(const std::vector<LayerMeasures>& measures);

}  // namespace condense
