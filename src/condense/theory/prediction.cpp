#include "condense/theory/prediction.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "condense/core/atomic_file.hpp"
#include "condense/core/error.hpp"
#include "condense/core/npy.hpp"
#include "condense/theory/correlation.hpp"

namespace condense {

namespace {

constexpr double kInfinity = std::numeric_limits<double>::infinity();

// Throws the reason why `act` has no prediction: a kink at 0, σ'(0) = 0, or not being listed.
[[noreturn]] void activation_not_covered(const ActivationExpansion& act) {
  if (act.kink)
    fail_input(
        "no prediction applies to activation {}: σ is not differentiable at 0 (σ'(0) is "
        "undefined), so the linearization of docs/science.md §2.3 does not apply; a ReLU-like "
        "activation has no multiplicity and condenses onto data-dependent directions",
        act.name);
  if (act.slope_at_zero && *act.slope_at_zero == 0.0) {
    std::string p_text = multiplicity_text(act);
    if (act.multiplicity)
      p_text = fmt::format(
          "multiplicity p = {}, so at most 2p = {} orientations ({} lines) are "
          "expected in the initial stage",
          *act.multiplicity, 2 * *act.multiplicity, *act.multiplicity);
    fail_input(
        "activation {} has σ'(0) = 0: the leading term σ'(0)·Z of docs/science.md §2.5 vanishes, "
        "so no direction v₁ is predicted for it ({})",
        act.name, p_text);
  }
  fail_input(
      "no prediction applies to activation {}: docs/science.md §2.10 covers activations "
      "differentiable at 0 with σ'(0) ≠ 0, and the prediction is made for those listed as such: "
      "{}",
      act.name, fmt::join(theory_activation_names(), ", "));
}

// A time scale ln(1/x)/rate in flow time and in steps; `per_step_rate` is the log-growth per
// step of plain gradient descent, when it applies and is positive.
TimeScale time_scale(double log_factor, double rate, const std::optional<double>& step_lr,
                     std::optional<double> per_step_rate) {
  TimeScale scale{rate > 0.0 ? log_factor / rate : kInfinity, std::nullopt, std::nullopt};
  if (step_lr && std::isfinite(scale.time)) scale.steps = scale.time / *step_lr;
  if (per_step_rate && *per_step_rate > 0.0 && std::isfinite(scale.time))
    scale.discrete_steps = log_factor / *per_step_rate;
  return scale;
}

// The prediction's copy of the problem's description (model, data, init, steps), once the
// targets are checked against the model.
Prediction prediction_record(const TheoryProblem& problem) {
  const TheoryModel& model = problem.model;
  Prediction p;
  p.model = model;
  p.samples = int(problem.targets.rows());
  p.data_description = problem.data_description;
  p.targets_rule = problem.targets_rule;
  p.first_layer_std = problem.first_layer_std;
  p.readout_std = problem.readout_std;
  p.epsilon = problem.epsilon;
  p.epsilon_rule = problem.epsilon_rule;
  p.step_lr = problem.step_lr;
  p.step_rule = problem.step_rule;
  p.plain_steps = problem.plain_steps && problem.step_lr.has_value();
  p.weight_decay = problem.weight_decay;
  if (problem.targets.cols() != model.outputs)
    fail_input("the targets have {} columns, the model has {} outputs", problem.targets.cols(),
               model.outputs);
  if (problem.inputs == nullptr || p.samples == 0) fail_input("the prediction needs training data");
  return p;
}

// Z and its spectrum (docs/science.md §2.3). Refuses Z = 0 and a degenerate gap: v₁ is then not
// determined.
void set_correlation(const TheoryProblem& problem, Prediction& p) {
  const TheoryModel& model = problem.model;
  p.Z = model.family == TheoryFamily::cnn
            ? cnn_correlation(model.conv, model.bias, problem.inputs, problem.targets)
            : fc_correlation(model.features, model.bias, problem.inputs, problem.targets);
  p.spectrum = singular_spectrum(p.Z);
  const double s1 = p.spectrum.s(0), s2 = p.spectrum.s(1);
  if (!(s1 > 0.0))
    fail_input(
        "the correlation Z is zero: the targets are uncorrelated with every patch (are all "
        "targets 0?), so nothing drives the kernels at leading order");
  if (s1 - s2 <= kDegenerateGap * s1)
    fail_input(
        "the top singular values of Z are degenerate (s1 = {:.6g}, s2 = {:.6g}, gap {:.3g} "
        "<= {:g}·s1): the direction v1 is not determined, the kernels turn towards the "
        "plane of the top singular vectors instead",
        s1, s2, s1 - s2, kDegenerateGap);
}

// The drive σ(0)·ȳ_k, the same at every position of output k (docs/science.md §2.5).
void set_drive(const Vector<double>& mean_targets, Prediction& p) {
  const int L = p.model.positions();
  p.drive = Vector<double>::Zero(p.model.readout_size());
  for (int k = 0; k < p.model.outputs; ++k)
    p.drive.segment(std::int64_t(k) * L, L)
        .setConstant(p.activation.value_at_zero * mean_targets(k));
}

// Time scales (docs/science.md §2.4) with the effective rates |σ'(0)|·s_k, in flow time, steps
// and, for plain GD, discrete steps.
void set_time_scales(Prediction& p) {
  const double slope = *p.activation.slope_at_zero;
  p.rate1 = std::abs(slope) * p.spectrum.s(0);
  p.rate2 = std::abs(slope) * p.spectrum.s(1);
  const double rate_gap = p.rate1 - p.rate2;
  const double growth = p.rate1 - p.weight_decay;
  // Plain GD maps mode k by 1 + η(|c|s_k − λ) per step (the eigenvalue of I + η·[[−λ, cs],[cs,
  // −λ]]).
  std::optional<double> step_gap, step_growth;
  if (p.plain_steps) {
    const double eta = *p.step_lr, decay = 1.0 - eta * p.weight_decay;
    if (decay + eta * p.rate2 > 0.0) {
      step_gap = std::log((decay + eta * p.rate1) / (decay + eta * p.rate2));
      step_growth = std::log(decay + eta * p.rate1);
    }
    if (eta * p.rate1 >= 1.0)
      p.warnings.push_back(fmt::format(
          "η·|σ'(0)|·s1 = {:.3g} ≥ 1: a GD step changes the fastest mode by more than its size, "
          "so the steps are far from gradient flow (its mode 1 − η·s1 flips sign)",
          eta * p.rate1));
  }
  p.align_1e2 = time_scale(std::log(1e2), rate_gap, p.step_lr, step_gap);
  p.align_1e3 = time_scale(std::log(1e3), rate_gap, p.step_lr, step_gap);
  p.linear_end = p.epsilon > 0.0
                     ? time_scale(std::log(1.0 / p.epsilon), growth, p.step_lr, step_growth)
                     : TimeScale{kInfinity, std::nullopt, std::nullopt};
}

// Where the prediction's assumptions are strained: the init, weight decay, the window between
// alignment and the end of the linear stage, and the drive.
void add_warnings(const Vector<double>& mean_targets, Prediction& p) {
  const double growth = p.rate1 - p.weight_decay;
  const double t_lin = p.linear_end.time;
  if (p.epsilon <= 0.0)
    p.warnings.push_back("the init std is 0: the weights never leave 0, t_lin is undefined");
  else if (p.epsilon >= 1.0)
    p.warnings.push_back(
        fmt::format("ε = {:g} is not small: the linear stage of docs/science.md §2.4 "
                    "does not exist (t_lin ≤ 0)",
                    p.epsilon));
  if (growth <= 0.0)
    p.warnings.push_back(
        fmt::format("weight decay λ = {:g} ≥ the growth rate {:.4g}: the weights "
                    "shrink, no linear stage ends",
                    p.weight_decay, p.rate1));
  if (std::isfinite(t_lin) && t_lin > 0.0 && p.align_1e2.time >= t_lin)
    p.warnings.push_back(fmt::format(
        "t_align(1e-2) = {:.4g} ≥ t_lin = {:.4g}: the linear stage ends before the kernels align "
        "to 1 − 1e-2; a smaller init (ε < {:.3g}) opens the window",
        p.align_1e2.time, t_lin, std::exp(-growth * p.align_1e2.time)));
  if (p.activation.value_at_zero != 0.0 && mean_targets.cwiseAbs().maxCoeff() > 0.0)
    p.warnings.push_back(fmt::format(
        "σ(0) = {:.4g} ≠ 0: da/dt has the constant term σ(0)·ȳ, which shapes the early "
        "transient (the direction for large t is still v1); the alignment curve includes it",
        p.activation.value_at_zero));
}

nlohmann::json finite_or_null(double value) {
  return std::isfinite(value) ? nlohmann::json(value) : nlohmann::json(nullptr);
}

nlohmann::json time_scale_json(const TimeScale& scale) {
  nlohmann::json j;
  j["time"] = finite_or_null(scale.time);
  j["steps"] = scale.steps ? nlohmann::json(*scale.steps) : nlohmann::json(nullptr);
  j["steps_discrete_gd"] =
      scale.discrete_steps ? nlohmann::json(*scale.discrete_steps) : nlohmann::json(nullptr);
  return j;
}

// prediction.json's "model": the geometry the theory sees.
nlohmann::json model_json(const TheoryModel& m, const ActivationExpansion& act) {
  nlohmann::json model;
  model["family"] = m.family == TheoryFamily::cnn ? "two-layer cnn" : "two-layer fc";
  model["description"] = m.describe();
  if (m.family == TheoryFamily::cnn) {
    model["input"] = {m.conv.in_channels, m.conv.in_height, m.conv.in_width};
    model["kernels"] = m.conv.out_channels;
    model["kernel_size"] = m.conv.kernel;
    model["stride"] = m.conv.stride;
    model["padding"] = m.conv.padding;
    model["output_size"] = {m.conv.out_height(), m.conv.out_width()};
  } else {
    model["input_features"] = m.features;
    model["hidden_width"] = m.width;
  }
  model["positions"] = m.positions();
  model["outputs"] = m.outputs;
  model["bias"] = m.bias;
  model["readout_bias"] = m.readout_bias;
  model["direction_size"] = m.direction_size();
  model["activation"] = act.name;
  return model;
}

// prediction.json's "activation": σ(0), σ'(0), the multiplicity and how they were found.
nlohmann::json activation_json(const ActivationExpansion& act) {
  nlohmann::json activation;
  activation["name"] = act.name;
  activation["sigma_0"] = act.value_at_zero;
  activation["sigma_prime_0"] =
      act.slope_at_zero ? nlohmann::json(*act.slope_at_zero) : nlohmann::json(nullptr);
  activation["kink_at_0"] = act.kink;
  activation["multiplicity_p"] =
      act.multiplicity ? nlohmann::json(*act.multiplicity) : nlohmann::json(nullptr);
  activation["orientations_2p"] =
      act.multiplicity ? nlohmann::json(2 * *act.multiplicity) : nlohmann::json(nullptr);
  activation["derivatives_at_0"] = act.derivatives_at_zero;
  activation["method"] =
      "σ'(0) exact; σ⁽ᵏ⁾(0) by central differences of σ' with Richardson extrapolation; nonzero "
      "when |σ⁽ᵏ⁾(0)|/k! > 1e-6·max_{|x|≤1}|σ'(x)|";
  return activation;
}

// prediction.json's "correlation": Z's shape and leading singular values, the effective rates.
nlohmann::json correlation_json(const Prediction& p) {
  const ActivationExpansion& act = p.activation;
  const Eigen::Index shown = std::min<Eigen::Index>(10, p.spectrum.singular_values.size());
  std::vector<double> singular(shown), rates(shown);
  for (Eigen::Index k = 0; k < shown; ++k) {
    singular[std::size_t(k)] = p.spectrum.singular_values(k);
    rates[std::size_t(k)] = std::abs(*act.slope_at_zero) * p.spectrum.singular_values(k);
  }
  nlohmann::json correlation;
  correlation["shape"] = {p.Z.rows(), p.Z.cols()};
  correlation["rows"] = "K·L: one row per (output, position)";
  correlation["singular_values"] = singular;
  correlation["s1"] = p.spectrum.s(0);
  correlation["s2"] = p.spectrum.s(1);
  correlation["gap"] = p.gap();
  correlation["relative_gap"] = p.gap() / p.spectrum.s(0);
  correlation["effective_rates"] = rates;
  correlation["effective_rates_rule"] = "|σ'(0)|·s_k: Z enters the dynamics as σ'(0)·Z";
  correlation["svd"] = "Eigen::JacobiSVD of Z (not an eigen-decomposition of ZᵀZ)";
  return correlation;
}

// prediction.json's "direction": v₁ and its conventions.
nlohmann::json direction_json(const Prediction& p) {
  const TheoryModel& m = p.model;
  const Vector<double> v1 = p.v1();
  nlohmann::json direction;
  direction["file"] = "v1.npy";
  direction["shape"] = m.kernel_shape();
  direction["v1"] = std::vector<double>(v1.data(), v1.data() + v1.size());
  direction["v1_bias"] = m.bias ? nlohmann::json(v1(m.weight_size())) : nlohmann::json(nullptr);
  direction["norm"] = "unit vector over the weights and the bias together";
  direction["sign"] = "the largest-|component| entry is positive (kernels align to ±v1)";
  return direction;
}

// prediction.json's "time_scales": t_align and t_lin with their formulas and step rule.
nlohmann::json time_scales_json(const Prediction& p) {
  nlohmann::json scales;
  scales["formulas"] = {
      {"t_align", "ln(1/δ) / (|σ'(0)|·(s1 − s2))"},
      {"t_lin", "ln(1/ε) / (|σ'(0)|·s1 − λ)"},
      {"steps", "t / η_step"},
      {"steps_discrete_gd",
       "ln(1/δ) / ln((1 − ηλ + η|σ'(0)|s1) / (1 − ηλ + η|σ'(0)|s2)) and "
       "ln(1/ε) / ln(1 − ηλ + η|σ'(0)|s1): plain GD on the linear system, without η → 0"}};
  scales["learning_rate_per_step"] =
      p.step_lr ? nlohmann::json(*p.step_lr) : nlohmann::json(nullptr);
  scales["steps_rule"] = p.step_rule;
  scales["weight_decay"] = p.weight_decay;
  scales["t_align_1e-2"] = time_scale_json(p.align_1e2);
  scales["t_align_1e-3"] = time_scale_json(p.align_1e3);
  scales["t_lin"] = time_scale_json(p.linear_end);
  scales["window_open"] = std::isfinite(p.linear_end.time) && p.align_1e2.time < p.linear_end.time;
  return scales;
}

std::string steps_text(const TimeScale& scale) {
  if (!std::isfinite(scale.time)) return "never";
  if (!scale.steps) return fmt::format("t = {:.4g}", scale.time);
  if (!scale.discrete_steps)
    return fmt::format("t = {:.4g} ({:.0f} steps)", scale.time, *scale.steps);
  return fmt::format("t = {:.4g} ({:.0f} steps; {:.0f} for discrete GD)", scale.time, *scale.steps,
                     *scale.discrete_steps);
}

}  // namespace

Prediction predict(const TheoryProblem& problem) {
  Prediction p = prediction_record(problem);
  // The activation first: for relu or x·tanh there is no direction to compute. The list decides;
  // the expansion says why for the usual refusals (and guards the list).
  p.activation = expand_at_zero(problem.model.activation);
  const ActivationExpansion& act = p.activation;
  if (!theory_covers_activation(problem.model.activation) || act.kink || *act.slope_at_zero == 0.0)
    activation_not_covered(act);
  set_correlation(problem, p);
  const Vector<double> mean_targets = problem.targets.colwise().mean().transpose();  // (K)
  set_drive(mean_targets, p);
  set_time_scales(p);
  add_warnings(mean_targets, p);
  return p;
}

LinearDynamics linear_dynamics(const Prediction& prediction) {
  return LinearDynamics{prediction.Z, *prediction.activation.slope_at_zero, prediction.drive};
}

template <class T>
KernelState kernel_state(const TheoryModel& model, const ParameterStore<T>& parameters) {
  auto find = [&](const std::string& name) {
    const int id = parameters.find(name);
    if (id < 0)
      fail_input("the model has no parameter {} (the theory expects {})", name, model.describe());
    return id;
  };
  const int M = model.kernels(), L = model.positions(), K = model.outputs;
  const int weights = model.weight_size(), d = model.direction_size();
  const int first = find(model.first_layer() + ".weight");
  const int readout = find(model.readout_layer() + ".weight");
  if (parameters.info(first).size != std::size_t(M) * weights ||
      parameters.info(readout).size != std::size_t(K) * M * L)
    fail_input("the parameters {} and {} do not have the sizes of {}", parameters.info(first).name,
               parameters.info(readout).name, model.describe());
  KernelState state;
  state.W.resize(M, d);                    // (M, d)
  state.A.resize(M, std::int64_t(K) * L);  // (M, K·L)
  const T* w = parameters.value(first);    // (M, C, k, k) or (M, F)
  for (int beta = 0; beta < M; ++beta)
    for (int j = 0; j < weights; ++j) state.W(beta, j) = double(w[std::size_t(beta) * weights + j]);
  if (model.bias) {
    const T* b = parameters.value(find(model.first_layer() + ".bias"));  // (M)
    for (int beta = 0; beta < M; ++beta) state.W(beta, weights) = double(b[beta]);
  }
  const T* a = parameters.value(readout);  // (K, M·L): the readout of the flattened (M, Ho, Wo)
  for (int k = 0; k < K; ++k)
    for (int beta = 0; beta < M; ++beta)
      for (int q = 0; q < L; ++q)
        state.A(beta, std::int64_t(k) * L + q) = double(a[(std::size_t(k) * M + beta) * L + q]);
  return state;
}

template KernelState kernel_state<float>(const TheoryModel&, const ParameterStore<float>&);
template KernelState kernel_state<double>(const TheoryModel&, const ParameterStore<double>&);

std::vector<double> predicted_alignment_at_steps(const Prediction& prediction,
                                                 const KernelState& initial,
                                                 const std::vector<long>& steps) {
  if (!prediction.step_lr) return {};
  std::vector<double> times;
  times.reserve(steps.size());
  for (long step : steps) times.push_back(*prediction.step_lr * double(step));
  return predicted_alignment(linear_dynamics(prediction), prediction.spectrum, initial, times);
}

Vector<double> v1_weights(const Prediction& prediction) {
  return prediction.v1().head(prediction.model.weight_size());
}

nlohmann::json prediction_json(const Prediction& p) {
  nlohmann::json j;
  j["theory"] = "docs/science.md §2, derived in docs/theory.md";
  j["condense_version"] = CONDENSE_VERSION;
  j["model"] = model_json(p.model, p.activation);
  j["data"] = {
      {"description", p.data_description}, {"samples", p.samples}, {"targets", p.targets_rule}};
  j["activation"] = activation_json(p.activation);
  j["correlation"] = correlation_json(p);
  j["direction"] = direction_json(p);
  nlohmann::json init;
  init["first_layer_std"] = p.first_layer_std;
  init["readout_std"] = p.readout_std;
  init["epsilon"] = p.epsilon;
  init["epsilon_rule"] = p.epsilon_rule;
  j["init"] = init;
  j["time_scales"] = time_scales_json(p);
  j["warnings"] = p.warnings;
  if (p.scope)
    j["scope"] = {{"layer", p.scope->layer},
                  {"network", p.scope->network},
                  {"claim", "the theory covers two-layer networks; v1 is the two-layer prediction for "
                            "this network's first layer on the same data, and its alignment with v1 "
                            "is measured, not predicted"}};
  return j;
}

void write_prediction_files(const Prediction& prediction, const std::filesystem::path& directory) {
  write_file_atomic(directory / "prediction.json", prediction_json(prediction).dump(2) + "\n");
  const Vector<double> weights = v1_weights(prediction);
  write_npy(directory / "v1.npy", weights.data(), prediction.model.kernel_shape());
}

std::string prediction_summary(const Prediction& p) {
  const ActivationExpansion& act = p.activation;
  std::string text;
  text += fmt::format("{}\n", p.model.describe());
  text += fmt::format("data: {} ({} samples; targets {})\n", p.data_description, p.samples,
                      p.targets_rule);
  text += fmt::format("activation {}: σ(0) = {:.4g}, σ'(0) = {:.4g}, {} (2p = {})\n", act.name,
                      act.value_at_zero, *act.slope_at_zero, multiplicity_text(act),
                      act.multiplicity ? 2 * *act.multiplicity : 0);
  text +=
      fmt::format("Z: {}x{}, s1 = {:.6g}, s2 = {:.6g}, gap = {:.6g} ({:.3g} of s1)\n", p.Z.rows(),
                  p.Z.cols(), p.spectrum.s(0), p.spectrum.s(1), p.gap(), p.gap() / p.spectrum.s(0));
  text += fmt::format("t_align(1e-2): {}\nt_align(1e-3): {}\n", steps_text(p.align_1e2),
                      steps_text(p.align_1e3));
  text += fmt::format("t_lin (ε = {:.3g}): {}\n", p.epsilon, steps_text(p.linear_end));
  if (p.step_lr)
    text += fmt::format("steps at η = {:g} ({})\n", *p.step_lr, p.step_rule);
  else
    text += fmt::format("no step counts: {}\n", p.step_rule);
  for (const auto& warning : p.warnings) text += fmt::format("warning: {}\n", warning);
  return text;
}

}  // namespace condense
