#pragma once
// The problem the theory solves (theory/prediction.hpp), built from plain arrays and a description
// of the two-layer model and of its training. A run config (pipeline/run_prediction.cpp) and the
// Python package (condense.predict, docs/python.md) both describe their model and data this way
// and go through theory_problem, so both give the same numbers for the same data.
#include <optional>
#include <string>

#include "condense/core/types.hpp"
#include "condense/nn/init.hpp"
#include "condense/nn/model_spec.hpp"
#include "condense/theory/prediction.hpp"
#include "condense/train/loss.hpp"
#include "condense/train/trainer.hpp"

namespace condense {

// The training samples as the model is trained on them. The arrays are the caller's: they must
// outlive the TheoryProblem, whose `inputs` points into them.
struct TheoryData {
  FeatureShape shape;              // one sample: (C, H, W); F features are (F, 1, 1)
  int samples = 0;                 // N
  const double* inputs = nullptr;  // (N, C, H, W), normalized as for training
  // The targets: class indices 0..K−1 (what cross-entropy is trained on) or float targets (N, K)
  // (what MSE is trained on), K = target_width, made as `target_encoding` says with the names of
  // data.target: "class", "onehot", "binary" or "regression".
  const int* labels = nullptr;      // (N)
  const double* targets = nullptr;  // (N, K)
  int target_width = 0;
  std::string target_encoding;
  std::string description;  // one line, for the record
};

// The two-layer model and its training, as far as the theory needs them.
struct TheorySetup {
  // The model. Its input shape is the data's, and outputs = 0 means as many as the targets need.
  // Anything but a two-layer CNN or FC net is refused (theory_model).
  ModelSpec model;
  LossKind loss = LossKind::mse;
  // The init of every layer, named as nn/model.cpp names them: the first layer's ("conv1", or
  // "fc1" of an FC net) and the readout's ("fc1", or "fc2") set ε (docs/theory.md §4).
  InitConfig init;
  // The optimizer settings and the batch size give the gradient-flow time of an optimizer step
  // (theory/step_time.hpp), train.optimizer.weight_decay the decay λ. Without an optimizer
  // (has_optimizer false) the time scales are in gradient-flow time only.
  TrainConfig train;
  bool has_optimizer = true;
  // Whether the readout has a bias, when it differs from the first layer's (model.bias gives both
  // layers one; a PyTorch model may have a biased Linear after a conv without bias). It decides
  // whether the targets are centred (docs/theory.md §1).
  std::optional<bool> readout_bias;
};

// The problem for this model and these data: the effective targets (docs/theory.md §1), the init
// sizes and ε, the step rule. Throws InputError for data that cannot be used (no samples, a zero
// size, a NaN or infinite input or target, targets of the wrong kind for the loss or of the wrong
// width for the model) and for a model the theory does not cover (theory_model).
TheoryProblem theory_problem(const TheorySetup& setup, const TheoryData& data);

}  // namespace condense
