#pragma once
// The prediction of docs/science.md §2 for a two-layer network: the correlation Z of the data with
// the targets, its singular values and top right singular vector v₁ (the direction every kernel
// turns to), the activation's σ(0), σ'(0) and multiplicity, and the time scales of alignment and of
// the end of the linear stage. docs/theory.md derives every quantity.
//
// This module sees plain structs only (data arrays, the model's geometry, numbers); turning a
// RunConfig into a TheoryProblem is pipeline/run_prediction.cpp's job.
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "condense/core/types.hpp"
#include "condense/nn/activation.hpp"
#include "condense/nn/conv2d.hpp"
#include "condense/nn/model_spec.hpp"
#include "condense/nn/parameters.hpp"
#include "condense/theory/activation_expansion.hpp"
#include "condense/theory/linear_dynamics.hpp"
#include "condense/theory/spectrum.hpp"
#include "condense/theory/theory_model.hpp"

namespace condense {

struct TheoryProblem {
  TheoryModel model;
  const double* inputs = nullptr;  // (N, C, H, W), normalized as for training
  Matrix<double> targets;          // (N, K) effective targets (theory/correlation.hpp)
  std::string targets_rule;        // how `targets` were formed, for the record
  std::string data_description;
  // The init std of the first layer's weights and of the readout's, and ε, the size that the
  // growing mode starts from (docs/theory.md: the larger of the two), with how it was chosen.
  double first_layer_std = 0.0, readout_std = 0.0;
  double epsilon = 0.0;
  std::string epsilon_rule;
  // Optimizer steps per unit of gradient-flow time are 1/step_lr; empty when steps are not
  // gradient-flow time (Adam). step_rule says how step_lr came from the optimizer settings.
  std::optional<double> step_lr;
  std::string step_rule;
  // The optimizer is plain gradient descent (gd, or sgd without momentum): step k maps the linear
  // system exactly by I + η·(its matrix), and discrete_steps apply.
  bool plain_steps = false;
  double weight_decay = 0.0;  // λ: every weight decays like e^{−λt} on top of the dynamics
};

struct TimeScale {
  double time = 0.0;            // gradient-flow time; +inf when never reached
  std::optional<double> steps;  // time / step_lr
  // Plain gradient descent on the same linear system multiplies mode k by 1 + η(c·s_k − λ) per step
  // rather than e^{η(c·s_k − λ)}: the step count without the η → 0 limit (docs/theory.md).
  std::optional<double> discrete_steps;
};

// A prediction used outside the theory's model: for the first layer of a deeper network trained
// elsewhere (the Python tracker), v₁ is the two-layer prediction for that layer on the same data,
// and the alignment measured against it is a measurement, not something the theory claims.
struct PredictionScope {
  std::string layer;    // the layer measured against v₁: "conv1", "features.0"
  std::string network;  // what the network is: "ResNet, 21 conv and linear layers"
};

struct Prediction {
  TheoryModel model;
  int samples = 0;
  std::string data_description, targets_rule;
  ActivationExpansion activation;
  Matrix<double> Z;                 // (R, d) stacked correlation
  Spectrum spectrum;                // of Z
  Vector<double> drive;             // (R) σ(0)·ȳ_k per position: the constant term of da/dt
  double rate1 = 0.0, rate2 = 0.0;  // effective |σ'(0)|·s₁, |σ'(0)|·s₂: the growth rates
  double first_layer_std = 0.0, readout_std = 0.0, epsilon = 0.0;
  std::string epsilon_rule, step_rule;
  std::optional<double> step_lr;
  bool plain_steps = false;
  double weight_decay = 0.0;
  TimeScale align_1e2, align_1e3, linear_end;  // t_align(δ = 1e-2), t_align(1e-3), t_lin
  std::vector<std::string> warnings;
  std::optional<PredictionScope> scope;  // empty: the network is the theory's own

  double gap() const { return spectrum.s(0) - spectrum.s(1); }  // s₁ − s₂ of Z itself
  Vector<double> v1() const { return spectrum.v1(); }           // (d)
};

// The relative gap below which v₁ is not determined: s₁ − s₂ ≤ kDegenerateGap·s₁ is refused.
inline constexpr double kDegenerateGap = 1e-6;

// Computes everything. Throws InputError for an activation the theory does not cover
// (theory_covers_activation), saying why for one with a kink at 0 (relu: the linearization does
// not apply) or with σ'(0) = 0 (the leading term vanishes), for Z = 0 and for a degenerate gap
// (the direction is not determined).
Prediction predict(const TheoryProblem& problem);

// The linear system of theory/linear_dynamics.hpp that the prediction's model follows.
LinearDynamics linear_dynamics(const Prediction& prediction);

// The initial state (W: (M, d), A: (M, R)) from a model's parameters, named as nn/model.cpp names
// them: conv1.weight (M, C, k, k) [+ conv1.bias (M)] and fc1.weight (K, M·L) for a CNN, fc1.weight
// (M, F) [+ fc1.bias] and fc2.weight (K, M) for an FC net. A(β, k·L + q) = readout[k, β·L + q].
template <class T>
KernelState kernel_state(const TheoryModel& model, const ParameterStore<T>& parameters);

// mean_β |cos(W_β(t), v₁)| predicted by the linear dynamics from `initial`, at t = step_lr·step
// for each step. Empty when steps are not gradient-flow time (prediction.step_lr is empty).
std::vector<double> predicted_alignment_at_steps(const Prediction& prediction,
                                                 const KernelState& initial,
                                                 const std::vector<long>& steps);

// Everything as one JSON document (DIR/prediction.json; docs/theory.md lists the fields).
nlohmann::json prediction_json(const Prediction& prediction);

// v₁'s weight part shaped like one kernel, (C, k, k) or (F); its bias component, if any, is in
// the JSON ("direction.v1_bias").
Vector<double> v1_weights(const Prediction& prediction);

// Writes DIR/prediction.json and DIR/v1.npy (the directory must exist).
void write_prediction_files(const Prediction& prediction, const std::filesystem::path& directory);

// A few lines for the terminal.
std::string prediction_summary(const Prediction& prediction);

}  // namespace condense
