#include "condense/cli/prediction.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "condense/core/error.hpp"
#include "condense/theory/correlation.hpp"

namespace condense {

namespace {

const InitSpec& init_of(const InitConfig& init, const std::string& layer) {
  const auto it = init.layers.find(layer);
  return it != init.layers.end() ? it->second : init.all;
}

// How many optimizer steps make one unit of gradient-flow time: GD runs t = η·step
// (docs/science.md §2.4).
void set_step_rate(const TrainConfig& train, TheoryProblem& problem) {
  const OptimizerSpec& o = train.optimizer;
  std::string rule;
  switch (o.kind) {
    case OptimizerKind::gd:
      problem.step_lr = o.lr;
      problem.plain_steps = true;
      rule = "gd: t = η·step";
      break;
    case OptimizerKind::sgd:
      if (o.momentum > 0.0) {
        // The momentum buffer sums past gradients with weights μ^j: once it has filled (after
        // ~1/(1−μ) steps) a slowly changing gradient moves θ by η/(1−μ) per step.
        problem.step_lr = o.lr / (1.0 - o.momentum);
        rule = fmt::format(
            "sgd with momentum μ = {}: t ≈ η/(1−μ)·step once the momentum buffer has "
            "filled",
            o.momentum);
      } else {
        problem.step_lr = o.lr;
        problem.plain_steps = true;
        rule = "sgd: t = η·step";
      }
      if (train.batch_size > 0)
        rule += fmt::format(
            "; mini-batches of {}: the expected step follows the full-batch "
            "gradient",
            train.batch_size);
      break;
    case OptimizerKind::adam:
      problem.step_lr.reset();
      rule =
          "adam normalizes each step by the gradient's running RMS, so its steps are not "
          "gradient-flow time; only times are predicted";
      break;
  }
  if (problem.step_lr && o.schedule.kind != ScheduleKind::constant)
    rule += fmt::format("; the {} schedule changes η later, the initial η is used",
                        schedule_name(o.schedule.kind));
  problem.step_rule = rule;
  problem.weight_decay = o.weight_decay;
}

}  // namespace

Prediction predict_from_config(const RunConfig& config, const Data& data) {
  ModelSpec spec = config.model;
  spec.input = data.train.shape;
  if (spec.outputs == 0)
    spec.outputs = data.train.target_width;
  else if (spec.outputs != data.train.target_width)
    fail_input("model.outputs = {}, but data.target = \"{}\" needs {} outputs", spec.outputs,
               target_name(config.data.target), data.train.target_width);

  TheoryProblem problem;
  problem.model = theory_model(spec);
  const TheoryModel& model = problem.model;
  problem.inputs = data.train.inputs.data();
  problem.data_description = data.description;

  // Effective targets (docs/science.md §2.6–§2.7; docs/theory.md §1 derives the centering).
  const int N = data.train.size;
  const bool center = spec.bias;
  if (config.train.loss == LossKind::cross_entropy) {
    if (data.train.labels.empty())
      fail_input("train.loss = \"cross-entropy\" needs data.target = \"class\", not \"{}\"",
                 target_name(config.data.target));
    problem.targets =
        effective_targets_cross_entropy(data.train.labels.data(), N, spec.outputs, center);
    problem.targets_rule = center ? "cross-entropy: one-hot − class frequency (one-hot − 1/K, "
                                    "then centered: the readout bias absorbs the mean)"
                                  : "cross-entropy: one-hot − 1/K";
  } else {
    if (data.train.targets.empty())
      fail_input(
          "train.loss = \"mse\" needs data.target = \"onehot\", \"binary\" or "
          "\"regression\", not \"class\"");
    problem.targets = effective_targets_mse(data.train.targets.data(), N, spec.outputs, center);
    problem.targets_rule =
        fmt::format("mse: {} targets{}", target_name(config.data.target),
                    center ? " minus their mean (the readout bias absorbs it)" : "");
  }

  // ε: the growing mode starts from (v₁ᵀW_β + u₁ᵀa_β)/2, whose size is that of the larger of the
  // two layers' init (docs/theory.md), so the larger std sets when the linear stage ends.
  const int M = model.kernels();
  const int first_fan_in = model.weight_size();
  const int first_fan_out =
      model.family == TheoryFamily::cnn ? M * model.conv.kernel * model.conv.kernel : M;
  const int readout_fan_in = M * model.positions();
  problem.first_layer_std =
      init_of(config.init, model.first_layer()).standard_deviation(first_fan_in, first_fan_out);
  problem.readout_std =
      init_of(config.init, model.readout_layer()).standard_deviation(readout_fan_in, model.outputs);
  problem.epsilon = std::max(problem.first_layer_std, problem.readout_std);
  problem.epsilon_rule =
      problem.first_layer_std == problem.readout_std
          ? fmt::format("the init std of both layers ({}: {})", model.first_layer(),
                        init_of(config.init, model.first_layer()).describe())
          : fmt::format(
                "the larger of the two layers' init std ({} {:.3g}, {} {:.3g}): the "
                "growing mode starts at the size of the larger one",
                model.first_layer(), problem.first_layer_std, model.readout_layer(),
                problem.readout_std);
  set_step_rate(config.train, problem);
  return predict(problem);
}

std::optional<Prediction> predict_for(const RunConfig& config, const Data& data,
                                      std::string* why_not) {
  try {
    return predict_from_config(config, data);
  } catch (const InputError& error) {
    if (why_not) *why_not = error.what();
    return std::nullopt;
  }
}

void write_prediction(const Prediction& prediction, const RunDirectory& run) {
  write_prediction_files(prediction, run.root);
}

template <class T>
std::string predicted_alignment_csv(const Prediction& prediction,
                                    const ParameterStore<T>& initial_parameters,
                                    const std::vector<long>& steps) {
  std::string text = "step,time,predicted_alignment\n";
  if (!prediction.step_lr) return text;
  const KernelState initial = kernel_state(prediction.model, initial_parameters);
  const std::vector<double> alignment = predicted_alignment_at_steps(prediction, initial, steps);
  for (std::size_t i = 0; i < steps.size(); ++i)
    text += fmt::format("{},{:.9g},{:.9g}\n", steps[i], *prediction.step_lr * double(steps[i]),
                        alignment[i]);
  return text;
}

template std::string predicted_alignment_csv<float>(const Prediction&, const ParameterStore<float>&,
                                                    const std::vector<long>&);
template std::string predicted_alignment_csv<double>(const Prediction&,
                                                     const ParameterStore<double>&,
                                                     const std::vector<long>&);

}  // namespace condense
