#pragma once
// The theory's prediction for a run configuration: turns a RunConfig and its data into the plain
// TheoryProblem of theory/prediction.hpp (effective targets, init sizes, the learning rate that
// converts gradient-flow time into optimizer steps) and writes the result into a run directory.
// `condense predict` and `condense train` both go through here, so both write the same files.
#include <optional>
#include <string>
#include <vector>

#include "condense/config/config.hpp"
#include "condense/data/dataset.hpp"
#include "condense/theory/prediction.hpp"
#include "condense/train/run_directory.hpp"

namespace condense {

// The prediction for this config and data. Throws InputError when no prediction applies (the
// model is not a two-layer net of docs/science.md §2.10, the activation has a kink or σ'(0) = 0,
// the gap is degenerate), saying why.
Prediction predict_from_config(const RunConfig& config, const Data& data);

// The same, for callers that go on without a prediction (the trainer): empty when none applies,
// with the reason in *why_not when given.
std::optional<Prediction> predict_for(const RunConfig& config, const Data& data,
                                      std::string* why_not = nullptr);

// RUN/prediction.json and RUN/v1.npy (the layout of train/run_directory.hpp).
void write_prediction(const Prediction& prediction, const RunDirectory& run);

// "step,time,predicted_alignment" rows: mean_β |cos(W_β(t), v₁)| from the linear dynamics started
// at the model's initial parameters, at t = η·step. Header only when steps are not gradient-flow
// time (Adam).
template <class T>
std::string predicted_alignment_csv(const Prediction& prediction,
                                    const ParameterStore<T>& initial_parameters,
                                    const std::vector<long>& steps);

}  // namespace condense
