#pragma once
// How optimizer steps map to the gradient-flow time of the theory (docs/science.md §2.4,
// docs/theory.md §4): gradient descent at learning rate η runs t = η·step; SGD with momentum μ,
// once its buffer has filled, about η/(1−μ) per step; Adam's steps are not gradient-flow time.
#include <optional>
#include <string>

#include "condense/train/trainer.hpp"

namespace condense {

struct StepTime {
  // Gradient-flow time per optimizer step; empty when steps are not gradient-flow time (Adam).
  std::optional<double> step_lr;
  bool plain_steps = false;  // t = η·step exactly (gd, sgd without momentum)
  std::string rule;          // how step_lr follows from the optimizer settings, for the record
};

StepTime step_time(const TrainConfig& train);

}  // namespace condense
