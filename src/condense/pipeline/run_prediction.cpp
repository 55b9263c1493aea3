#include "condense/pipeline/run_prediction.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "condense/core/atomic_file.hpp"
#include "condense/core/error.hpp"
#include "condense/theory/correlation.hpp"
#include "condense/theory/step_time.hpp"

namespace condense {

namespace {

const InitSpec& init_of(const InitConfig& init, const std::string& layer) {
  const auto it = init.layers.find(layer);
  return it != init.layers.end() ? it->second : init.all;
}

}  // namespace

TheoryProblem theory_problem(const RunConfig& config, const Data& data) {
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
  const StepTime time = step_time(config.train);
  problem.step_lr = time.step_lr;
  problem.plain_steps = time.plain_steps;
  problem.step_rule = time.rule;
  problem.weight_decay = config.train.optimizer.weight_decay;
  return problem;
}

RunPrediction predict_run(const RunConfig& config, const Data& data) {
  RunPrediction result;
  try {
    result.prediction = predict(theory_problem(config, data));
  } catch (const InputError& error) {
    result.why_not = error.what();
  }
  return result;
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

template <class T>
void write_run_prediction(const RunConfig& config, const Data& data, const Model<T>& model,
                          const RunDirectory& run, bool quiet) {
  const RunPrediction outcome = predict_run(config, data);
  if (!outcome.prediction) {
    if (!quiet) fmt::print(stderr, "condense: {}\n", outcome.why_not);
    return;
  }
  write_prediction_files(*outcome.prediction, run.root);
  // Every step while the run is short, else the log schedule at 100 points per decade.
  const long total = total_steps(config.train, data.train.size);
  TrackConfig dense;
  dense.per_decade = 100;
  std::vector<long> steps = snapshot_steps(dense, total);
  if (total <= 2000) {
    steps.resize(std::size_t(total) + 1);
    for (long s = 0; s <= total; ++s) steps[std::size_t(s)] = s;
  }
  write_file_atomic(run.predicted_alignment(),
                    predicted_alignment_csv(*outcome.prediction, model.parameters(), steps));
}

template void write_run_prediction<float>(const RunConfig&, const Data&, const Model<float>&,
                                          const RunDirectory&, bool);
template void write_run_prediction<double>(const RunConfig&, const Data&, const Model<double>&,
                                           const RunDirectory&, bool);

}  // namespace condense
