#include "condense/pipeline/run_prediction.hpp"

#include <fmt/format.h>

#include "condense/core/atomic_file.hpp"
#include "condense/core/error.hpp"

namespace condense {

TheoryProblem theory_problem(const RunConfig& config, const Data& data) {
  // The config's own words for the mismatches a config can make; theory_problem checks the same
  // for every caller.
  if (config.model.outputs != 0 && config.model.outputs != data.train.target_width)
    fail_input("model.outputs = {}, but data.target = \"{}\" needs {} outputs",
               config.model.outputs, target_name(config.data.target), data.train.target_width);
  if (config.train.loss == LossKind::cross_entropy && data.train.labels.empty())
    fail_input("train.loss = \"cross-entropy\" needs data.target = \"class\", not \"{}\"",
               target_name(config.data.target));
  if (config.train.loss != LossKind::cross_entropy && data.train.targets.empty())
    fail_input(
        "train.loss = \"mse\" needs data.target = \"onehot\", \"binary\" or "
        "\"regression\", not \"class\"");

  TheorySetup setup;
  setup.model = config.model;
  setup.loss = config.train.loss;
  setup.init = config.init;
  setup.train = config.train;
  TheoryData theory_data;
  theory_data.shape = data.train.shape;
  theory_data.samples = data.train.size;
  theory_data.inputs = data.train.inputs.data();
  theory_data.labels = data.train.labels.empty() ? nullptr : data.train.labels.data();
  theory_data.targets = data.train.targets.empty() ? nullptr : data.train.targets.data();
  theory_data.target_width = data.train.target_width;
  theory_data.target_encoding = target_name(config.data.target);
  theory_data.description = data.description;
  return theory_problem(setup, theory_data);
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

std::vector<long> predicted_alignment_steps(long total_steps) {
  // Every step while the run is short, else the log schedule at 100 points per decade.
  TrackConfig dense;
  dense.per_decade = 100;
  std::vector<long> steps = snapshot_steps(dense, total_steps);
  if (total_steps <= 2000) {
    steps.resize(std::size_t(total_steps) + 1);
    for (long s = 0; s <= total_steps; ++s) steps[std::size_t(s)] = s;
  }
  return steps;
}

template <class T>
void write_predicted_alignment(const Prediction& prediction,
                               const ParameterStore<T>& initial_parameters, long total_steps,
                               const RunDirectory& run) {
  write_file_atomic(run.predicted_alignment(),
                    predicted_alignment_csv(prediction, initial_parameters,
                                            predicted_alignment_steps(total_steps)));
}

template void write_predicted_alignment<float>(const Prediction&, const ParameterStore<float>&,
                                               long, const RunDirectory&);
template void write_predicted_alignment<double>(const Prediction&, const ParameterStore<double>&,
                                                long, const RunDirectory&);

template <class T>
void write_run_prediction(const RunConfig& config, const Data& data, const Model<T>& model,
                          const RunDirectory& run, bool quiet) {
  const RunPrediction outcome = predict_run(config, data);
  if (!outcome.prediction) {
    if (!quiet) fmt::print(stderr, "condense: {}\n", outcome.why_not);
    return;
  }
  write_prediction_files(*outcome.prediction, run.root);
  write_predicted_alignment(*outcome.prediction, model.parameters(),
                            total_steps(config.train, data.train.size), run);
}

template void write_run_prediction<float>(const RunConfig&, const Data&, const Model<float>&,
                                          const RunDirectory&, bool);
template void write_run_prediction<double>(const RunConfig&, const Data&, const Model<double>&,
                                           const RunDirectory&, bool);

}  // namespace condense
