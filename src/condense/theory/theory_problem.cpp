#include "condense/theory/theory_problem.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "condense/core/error.hpp"
#include "condense/theory/correlation.hpp"
#include "condense/theory/step_time.hpp"

namespace condense {

namespace {

const InitSpec& init_of(const InitConfig& init, const std::string& layer) {
  const auto it = init.layers.find(layer);
  return it != init.layers.end() ? it->second : init.all;
}

// The first sample holding a NaN or an infinity among `count` values of `per_sample` each, or −1.
long first_non_finite_sample(const double* values, std::size_t count, std::size_t per_sample) {
  for (std::size_t i = 0; i < count; ++i)
    if (!std::isfinite(values[i])) return long(i / per_sample);
  return -1;
}

// What every caller's data must be before the model is looked at.
void check_data(const TheoryData& data) {
  if (data.samples <= 0 || data.inputs == nullptr)
    fail_input("the prediction needs training data: there are no samples");
  const FeatureShape& shape = data.shape;
  if (shape.channels <= 0 || shape.height <= 0 || shape.width <= 0)
    fail_input("the samples have shape {} (C, H, W): every size must be at least 1",
               to_string(shape));
  if (data.labels == nullptr && data.targets == nullptr)
    fail_input("the training data have no targets");
  if (data.target_width <= 0)
    fail_input("the targets have {} columns; at least one is needed", data.target_width);
  const std::size_t sample_size = shape.size();
  const std::size_t N = std::size_t(data.samples);
  if (const long i = first_non_finite_sample(data.inputs, N * sample_size, sample_size); i >= 0)
    fail_input("the inputs have a non-finite value (NaN or infinity) in sample {}", i);
  if (data.targets != nullptr) {
    const std::size_t K = std::size_t(data.target_width);
    if (const long i = first_non_finite_sample(data.targets, N * K, K); i >= 0)
      fail_input("the targets have a non-finite value (NaN or infinity) in sample {}", i);
  }
}

// The targets the leading-order dynamics see (docs/science.md §2.6–§2.7; docs/theory.md §1
// derives the centering), with how they were formed.
void set_effective_targets(const TheorySetup& setup, const TheoryData& data,
                           TheoryProblem& problem) {
  const int N = data.samples, K = problem.model.outputs;
  const bool center = problem.model.readout_bias;
  if (setup.loss == LossKind::cross_entropy) {
    if (data.labels == nullptr)
      fail_input(
          "the loss cross-entropy is trained on class labels (target \"class\"), not on {} "
          "targets",
          data.target_encoding);
    problem.targets = effective_targets_cross_entropy(data.labels, N, K, center);
    problem.targets_rule = center ? "cross-entropy: one-hot − class frequency (one-hot − 1/K, "
                                    "then centered: the readout bias absorbs the mean)"
                                  : "cross-entropy: one-hot − 1/K";
  } else {
    if (data.targets == nullptr)
      fail_input(
          "the loss mse is trained on float targets (target \"onehot\", \"binary\" or "
          "\"regression\"), not on class labels");
    problem.targets = effective_targets_mse(data.targets, N, K, center);
    problem.targets_rule =
        fmt::format("mse: {} targets{}", data.target_encoding,
                    center ? " minus their mean (the readout bias absorbs it)" : "");
  }
}

// ε: the growing mode starts from (v₁ᵀW_β + u₁ᵀa_β)/2, whose size is that of the larger of the
// two layers' init (docs/theory.md §4), so the larger std sets when the linear stage ends.
void set_init_sizes(const InitConfig& init, TheoryProblem& problem) {
  const TheoryModel& model = problem.model;
  const int M = model.kernels();
  const int first_fan_in = model.weight_size();
  const int first_fan_out =
      model.family == TheoryFamily::cnn ? M * model.conv.kernel * model.conv.kernel : M;
  const int readout_fan_in = M * model.positions();
  const InitSpec& first = init_of(init, model.first_layer());
  problem.first_layer_std = first.standard_deviation(first_fan_in, first_fan_out);
  problem.readout_std =
      init_of(init, model.readout_layer()).standard_deviation(readout_fan_in, model.outputs);
  problem.epsilon = std::max(problem.first_layer_std, problem.readout_std);
  problem.epsilon_rule =
      problem.first_layer_std == problem.readout_std
          ? fmt::format("the init std of both layers ({}: {})", model.first_layer(),
                        first.describe())
          : fmt::format(
                "the larger of the two layers' init std ({} {:.3g}, {} {:.3g}): the "
                "growing mode starts at the size of the larger one",
                model.first_layer(), problem.first_layer_std, model.readout_layer(),
                problem.readout_std);
}

}  // namespace

TheoryProblem theory_problem(const TheorySetup& setup, const TheoryData& data) {
  check_data(data);
  ModelSpec spec = setup.model;
  spec.input = data.shape;
  if (spec.outputs == 0)
    spec.outputs = data.target_width;
  else if (spec.outputs != data.target_width)
    fail_input("the model has {} outputs, but the {} targets have {}", spec.outputs,
               data.target_encoding, data.target_width);

  TheoryProblem problem;
  problem.model = theory_model(spec);
  problem.model.readout_bias = setup.readout_bias.value_or(spec.bias);
  problem.inputs = data.inputs;
  problem.data_description = data.description;
  set_effective_targets(setup, data, problem);
  set_init_sizes(setup.init, problem);
  if (setup.has_optimizer) {
    const StepTime time = step_time(setup.train);
    problem.step_lr = time.step_lr;
    problem.plain_steps = time.plain_steps;
    problem.step_rule = time.rule;
  } else {
    problem.step_rule = "no optimizer given: the times are gradient-flow time only";
  }
  problem.weight_decay = setup.train.optimizer.weight_decay;
  return problem;
}

}  // namespace condense
