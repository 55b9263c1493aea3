#pragma once
// One optimizer step on one batch: zero the gradients, forward, loss, backward, update. A loss
// or gradient that is not finite stops training with a DivergenceError naming the step.
#include "condense/nn/model.hpp"
#include "condense/train/loss.hpp"
#include "condense/train/optimizer.hpp"

namespace condense {

template <class T>
struct Batch {
  const T* inputs = nullptr;  // (N, C, H, W)
  Targets<T> targets;
  int size = 0;
  bool same_as_previous = false;  // full-batch training: the first layer keeps its patches
};

struct StepResult {
  double loss = 0.0;  // before the update
  int correct = 0;    // correct predictions before the update (0 without classes)
};

template <class T>
StepResult train_step(Model<T>& model, Optimizer<T>& optimizer, LossKind loss,
                      const Batch<T>& batch);

}  // namespace condense
