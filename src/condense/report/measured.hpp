#pragma once
// The theory's time scales measured on a run, by the rules of docs/theory.md ("Measured against
// predicted"): t_align(δ) is the first snapshot where 1 − align_v1 ≤ δ; the linear stage ends at
// the first step whose training loss is 10% below its initial value (while the weights are
// O(ε), f = O(ε²) and the loss stays at its initial value).
#include <string>
#include <vector>

#include "condense/report/run_data.hpp"

namespace condense {

struct MeasuredTimeScale {
  std::string name;      // "t_align(1e-2)", "t_align(1e-3)", "t_lin"
  double predicted = 0;  // optimizer steps; NaN when not predicted
  long measured = -1;    // optimizer steps; −1 when not reached
  std::string rule;
};

struct MeasuredTimeScales {
  std::vector<MeasuredTimeScale> scales;
  std::string orientations_note;  // orientations and lines near the end of the linear stage
};

MeasuredTimeScales measure_time_scales(const RunData& run);

// The first step whose training loss is ≤ (1 − drop) × the first recorded loss, or −1.
long loss_drop_step(const RunData& run, double drop = 0.1);

}  // namespace condense
