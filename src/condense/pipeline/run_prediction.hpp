#pragma once
// The theory's prediction for a run: turns a RunConfig and its data into the plain TheoryProblem of
// theory/prediction.hpp (through theory/theory_problem.hpp, as the Python package does) and writes
// the result into a run directory. `condense predict` and `condense train` both go through here,
// so both write the same files.
#include <optional>
#include <string>
#include <vector>

#include "condense/config/config.hpp"
#include "condense/data/dataset.hpp"
#include "condense/nn/model.hpp"
#include "condense/rundir/layout.hpp"
#include "condense/theory/prediction.hpp"
#include "condense/theory/theory_problem.hpp"

namespace condense {

// The problem the theory solves for this config and data. Throws InputError when the config and
// data do not fit each other (outputs, loss and targets).
TheoryProblem theory_problem(const RunConfig& config, const Data& data);

// The prediction, or why there is none: the model is not a two-layer net of docs/science.md §2.10,
// the activation has a kink or σ'(0) = 0, the gap is degenerate.
struct RunPrediction {
  std::optional<Prediction> prediction;
  std::string why_not;
};
RunPrediction predict_run(const RunConfig& config, const Data& data);

// "step,time,predicted_alignment" rows: mean_β |cos(W_β, v₁)| from the linear dynamics started at
// the model's initial parameters, at t = η·step. Header only when steps are not gradient-flow time
// (Adam).
template <class T>
std::string predicted_alignment_csv(const Prediction& prediction,
                                    const ParameterStore<T>& initial_parameters,
                                    const std::vector<long>& steps);

// The steps of RUN/predicted_alignment.csv for a run of `total_steps`: every step up to 2000
// steps, else the log schedule at 100 points per decade.
std::vector<long> predicted_alignment_steps(long total_steps);

// RUN/predicted_alignment.csv at those steps, from the run's initial parameters.
template <class T>
void write_predicted_alignment(const Prediction& prediction,
                               const ParameterStore<T>& initial_parameters, long total_steps,
                               const RunDirectory& run);

// RUN/prediction.json, RUN/v1.npy and RUN/predicted_alignment.csv from the run's own initial
// weights. Models the theory does not cover get a sentence on stderr saying why (unless quiet), and
// nothing is written: align_v1 stays empty.
template <class T>
void write_run_prediction(const RunConfig& config, const Data& data, const Model<T>& model,
                          const RunDirectory& run, bool quiet);

}  // namespace condense
