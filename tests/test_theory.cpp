// Tests of the theory of docs/science.md §2 (src/condense/theory/, docs/theory.md): the correlation
// Z against a naive loop and against an independent numpy SVD, the activation's multiplicity, the
// exact linear dynamics against RK4 and against gradient descent on a real model, the refusals,
// and `condense predict` end to end.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>

#include "condense/core/atomic_file.hpp"
#include "condense/core/npy.hpp"
#include "condense/nn/model.hpp"
#include "condense/pipeline/run_prediction.hpp"
#include "condense/theory/activation_expansion.hpp"
#include "condense/theory/correlation.hpp"
#include "condense/theory/linear_dynamics.hpp"
#include "condense/theory/prediction.hpp"
#include "condense/theory/spectrum.hpp"
#include "condense/train/loss.hpp"
#include "data_test_support.hpp"

namespace fs = std::filesystem;
using namespace condense;

namespace {

std::vector<double> normal_values(std::size_t n, std::uint64_t seed, double scale = 1.0) {
  std::mt19937_64 generator(seed);
  std::normal_distribution<double> normal(0.0, scale);
  std::vector<double> values(n);
  for (auto& v : values) v = normal(generator);
  return values;
}

Matrix<double> normal_matrix(Eigen::Index rows, Eigen::Index cols, std::uint64_t seed,
                             double scale = 1.0) {
  const std::vector<double> values = normal_values(std::size_t(rows * cols), seed, scale);
  return ConstMatrixMap<double>(values.data(), rows, cols);
}

// Z by the definition, one sample, position and patch entry at a time (docs/science.md §2.3).
Matrix<double> naive_cnn_correlation(const ConvGeometry& g, bool bias,
                                     const std::vector<double>& x,  // (N, C, H, W)
                                     const Matrix<double>& Y) {     // (N, K)
  const int N = int(Y.rows()), K = int(Y.cols()), L = g.positions();
  const int d = g.patch_size() + (bias ? 1 : 0);
  Matrix<double> Z = Matrix<double>::Zero(K * L, d);
  for (int k = 0; k < K; ++k)
    for (int oh = 0; oh < g.out_height(); ++oh)
      for (int ow = 0; ow < g.out_width(); ++ow) {
        const int q = oh * g.out_width() + ow;
        for (int i = 0; i < N; ++i) {
          int entry = 0;
          for (int c = 0; c < g.in_channels; ++c)
            for (int ki = 0; ki < g.kernel; ++ki)
              for (int kj = 0; kj < g.kernel; ++kj, ++entry) {
                const int h = oh * g.stride - g.padding + ki, w = ow * g.stride - g.padding + kj;
                if (h < 0 || h >= g.in_height || w < 0 || w >= g.in_width) continue;
                const double pixel =
                    x[((std::size_t(i) * g.in_channels + c) * g.in_height + h) * g.in_width + w];
                Z(k * L + q, entry) += Y(i, k) * pixel / N;
              }
          if (bias) Z(k * L + q, entry) += Y(i, k) / N;
        }
      }
  return Z;
}

struct Case {
  int channels, stride, padding;
  bool bias;
};

const Case kGeometries[] = {
    {1, 1, 0, false}, {1, 1, 1, true},  {1, 2, 0, true},  {1, 2, 1, false},
    {3, 1, 0, true},  {3, 1, 1, false}, {3, 2, 0, false}, {3, 2, 1, true},
};

std::string case_name(const Case& c) {
  return fmt::format("C{} stride {} padding {} {}", c.channels, c.stride, c.padding,
                     c.bias ? "bias" : "no bias");
}

ConvGeometry geometry_of(const Case& c) {
  return ConvGeometry{c.channels, 4, 3, c.stride, c.padding, 9, 8};
}

// Targets with a clear top direction: a ±1 label from a linear teacher, plus a second output.
Matrix<double> teacher_targets(const std::vector<double>& x, int N, int K, std::uint64_t seed) {
  const int size = int(x.size()) / N;
  const Matrix<double> teacher = normal_matrix(size, K, seed);
  const Matrix<double> scores = ConstMatrixMap<double>(x.data(), N, size) * teacher;
  Matrix<double> Y(N, K);
  for (int i = 0; i < N; ++i)
    for (int k = 0; k < K; ++k) Y(i, k) = scores(i, k) > 0 ? 1.0 : -1.0;
  return Y;
}

double relative_difference(const Matrix<double>& a, const Matrix<double>& b) {
  return (a - b).norm() / std::max(b.norm(), 1e-300);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Z against the definition.

TEST(Correlation, CnnMatchesNaiveLoops) {
  for (const Case& c : kGeometries) {
    for (int K : {1, 2}) {
      const ConvGeometry g = geometry_of(c);
      const int N = 11;
      const std::vector<double> x =
          normal_values(std::size_t(N) * g.in_channels * g.in_height * g.in_width, 7);
      const Matrix<double> Y = normal_matrix(N, K, 8);
      const Matrix<double> Z = cnn_correlation(g, c.bias, x.data(), Y);
      ASSERT_EQ(Z.rows(), K * g.positions()) << case_name(c);
      ASSERT_EQ(Z.cols(), g.patch_size() + (c.bias ? 1 : 0)) << case_name(c);
      EXPECT_LT(relative_difference(Z, naive_cnn_correlation(g, c.bias, x, Y)), 1e-14)
          << case_name(c) << ", K = " << K;
    }
  }
}

TEST(Correlation, FcIsTheMeanOfLabelTimesInput) {
  const int N = 13, F = 5;
  const std::vector<double> x = normal_values(std::size_t(N) * F, 3);
  const Matrix<double> Y = normal_matrix(N, 2, 4);
  for (bool bias : {false, true}) {
    const Matrix<double> Z = fc_correlation(F, bias, x.data(), Y);
    ASSERT_EQ(Z.rows(), 2);
    ASSERT_EQ(Z.cols(), F + (bias ? 1 : 0));
    for (int k = 0; k < 2; ++k)
      for (int j = 0; j < Z.cols(); ++j) {
        double expected = 0.0;
        for (int i = 0; i < N; ++i) expected += Y(i, k) * (j < F ? x[std::size_t(i) * F + j] : 1.0);
        EXPECT_NEAR(Z(k, j), expected / N, 1e-14);
      }
  }
}

TEST(Correlation, EffectiveTargets) {
  const std::vector<int> labels = {0, 2, 1, 2};
  const Matrix<double> Y = effective_targets_cross_entropy(labels.data(), 4, 3, false);
  EXPECT_NEAR(Y(1, 2), 1.0 - 1.0 / 3, 1e-15);
  EXPECT_NEAR(Y(1, 0), -1.0 / 3, 1e-15);
  const Matrix<double> centered = effective_targets_cross_entropy(labels.data(), 4, 3, true);
  EXPECT_NEAR(centered(1, 2), 1.0 - 0.5, 1e-15);  // class 2 has frequency 1/2
  EXPECT_LT(centered.colwise().sum().cwiseAbs().maxCoeff(), 1e-15);
  const std::vector<double> values = {1, -1, 1, 1};
  const Matrix<double> mse = effective_targets_mse(values.data(), 4, 1, true);
  EXPECT_NEAR(mse(1, 0), -1.5, 1e-15);
}

// ---------------------------------------------------------------------------------------------
// v₁ and the singular values against numpy, run now by /usr/bin/python3.

TEST(Spectrum, MatchesIndependentNumpySvd) {
  const fs::path dir = fs::temp_directory_path() / ("condense_theory_" + std::to_string(getpid()));
  fs::create_directories(dir);
  for (const Case& c : kGeometries) {
    const ConvGeometry g = geometry_of(c);
    const int N = 40, K = 2;
    const std::vector<double> x =
        normal_values(std::size_t(N) * g.in_channels * g.in_height * g.in_width, 21);
    const Matrix<double> Y = teacher_targets(x, N, K, 22);
    write_npy(dir / "inputs.npy", x.data(), {N, g.in_channels, g.in_height, g.in_width});
    write_npy(dir / "targets.npy", Y.data(), {N, K});
    const std::string command =
        "/usr/bin/python3 " + std::string(CONDENSE_SOURCE_DIR) + "/tests/theory_reference.py " +
        (dir / "inputs.npy").string() + " " + (dir / "targets.npy").string() + " " +
        std::to_string(g.kernel) + " " + std::to_string(g.stride) + " " +
        std::to_string(g.padding) + " " + (c.bias ? "1" : "0") + " " + dir.string();
    const int status = std::system(command.c_str());
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
        << "the reference script failed (" << command
        << "); /usr/bin/python3 needs numpy (Debian: python3-numpy)";
    const NpyArray v1_ref = read_npy(dir / "reference_v1.npy");
    const NpyArray s_ref = read_npy(dir / "reference_singular_values.npy");

    const Spectrum spectrum = singular_spectrum(cnn_correlation(g, c.bias, x.data(), Y));
    ASSERT_EQ(v1_ref.size(), spectrum.v1().size()) << case_name(c);
    const Vector<double> reference = ConstVectorMap<double>(v1_ref.values.data(), v1_ref.size());
    EXPECT_GE(std::abs(spectrum.v1().dot(reference)), 0.9999) << case_name(c);
    ASSERT_EQ(s_ref.size(), spectrum.singular_values.size()) << case_name(c);
    for (std::int64_t k = 0; k < s_ref.size(); ++k)
      EXPECT_NEAR(spectrum.singular_values(k), s_ref.values[std::size_t(k)],
                  1e-10 * s_ref.values[0])
          << case_name(c) << ", s_" << k + 1;
  }
  fs::remove_all(dir);
}

TEST(Spectrum, SignConventionAndReconstruction) {
  const Matrix<double> Z = normal_matrix(30, 7, 5);
  const Spectrum s = singular_spectrum(Z);
  for (Eigen::Index k = 0; k < s.right.cols(); ++k) {
    Eigen::Index largest;
    s.right.col(k).cwiseAbs().maxCoeff(&largest);
    EXPECT_GT(s.right(largest, k), 0.0);
  }
  const Matrix<double> rebuilt = s.left * s.singular_values.asDiagonal() * s.right.transpose();
  EXPECT_LT(relative_difference(rebuilt, Z), 1e-14);
  EXPECT_LT(relative_difference(Matrix<double>(s.right.transpose() * s.right),
                                Matrix<double>::Identity(7, 7)),
            1e-14);
}

// ---------------------------------------------------------------------------------------------
// Multiplicity. To add an activation to nn/activation.cpp, add its expected p here.

TEST(ActivationExpansion, MultiplicityOfEveryBuiltin) {
  // p, σ(0), σ'(0); p = 0 stands for "kink at 0, no multiplicity".
  struct Expected {
    int p;
    double value, slope;
  };
  const std::map<std::string, Expected> expected = {
      {"identity", {1, 0.0, 1.0}}, {"tanh", {1, 0.0, 1.0}},
      {"sigmoid", {1, 0.5, 0.25}}, {"softplus", {1, std::log(2.0), 0.5}},
      {"relu", {0, 0.0, 0.0}},     {"leaky_relu", {0, 0.0, 0.0}},
      {"gelu", {1, 0.0, 0.5}},     {"silu", {1, 0.0, 0.5}},
      {"xtanh", {2, 0.0, 0.0}},    {"x2tanh", {3, 0.0, 0.0}},
  };
  for (const std::string& name : activation_names()) {
    const auto it = expected.find(name);
    ASSERT_NE(it, expected.end()) << "no expected multiplicity for activation " << name
                                  << ": add it to this table";
    const Activation activation = parse_activation(name);
    const ActivationExpansion e = expand_at_zero(activation);
    EXPECT_NEAR(e.value_at_zero, it->second.value, 1e-15) << name;
    EXPECT_EQ(e.kink, activation.has_kink()) << name;
    if (it->second.p == 0) {
      EXPECT_TRUE(e.kink) << name;
      EXPECT_FALSE(e.multiplicity) << name;
      EXPECT_FALSE(e.slope_at_zero) << name;
      EXPECT_EQ(multiplicity_text(e), "none (kink at 0)");
      continue;
    }
    ASSERT_TRUE(e.multiplicity) << name;
    EXPECT_EQ(*e.multiplicity, it->second.p) << name;
    EXPECT_NEAR(*e.slope_at_zero, it->second.slope, 1e-15) << name;
  }
}

TEST(ActivationExpansion, HigherDerivativesAreAccurate) {
  // tanh = x − x³/3 + 2x⁵/15 − 17x⁷/315: σ''' = −2, σ⁽⁵⁾ = 16, σ⁽⁷⁾ = −272.
  const Activation tanh = parse_activation("tanh");
  EXPECT_NEAR(derivative_at_zero(tanh, 2), 0.0, 1e-8);
  EXPECT_NEAR(derivative_at_zero(tanh, 3), -2.0, 1e-6);
  EXPECT_NEAR(derivative_at_zero(tanh, 5), 16.0, 1e-3);
  // x·tanh x = x² − x⁴/3: σ'' = 2, σ⁽⁴⁾ = −8; x²·tanh x = x³ − x⁵/3: σ''' = 6.
  EXPECT_NEAR(derivative_at_zero(parse_activation("xtanh"), 2), 2.0, 1e-6);
  EXPECT_NEAR(derivative_at_zero(parse_activation("xtanh"), 4), -8.0, 1e-4);
  EXPECT_NEAR(derivative_at_zero(parse_activation("x2tanh"), 3), 6.0, 1e-6);
  // sigmoid'' (0) = 0, sigmoid''' (0) = −1/8.
  EXPECT_NEAR(derivative_at_zero(parse_activation("sigmoid"), 3), -0.125, 1e-6);
  const ActivationExpansion x2 = expand_at_zero(parse_activation("x2tanh"));
  ASSERT_EQ(x2.derivatives_at_zero.size(), 3u);
  EXPECT_NEAR(x2.derivatives_at_zero[2], 6.0, 1e-6);
}

// ---------------------------------------------------------------------------------------------
// The linear dynamics: exact solution against RK4 of the same system.

namespace {

struct SmallSystem {
  LinearDynamics dynamics;
  Spectrum spectrum;
  KernelState initial;
};

SmallSystem small_system(double slope, double drive) {
  SmallSystem s;
  s.dynamics.Z = normal_matrix(6, 4, 11, 0.5);
  s.dynamics.slope = slope;
  s.dynamics.drive = Vector<double>::Constant(6, drive);
  s.spectrum = singular_spectrum(s.dynamics.Z);
  s.initial.W = normal_matrix(3, 4, 12, 1e-3);
  s.initial.A = normal_matrix(3, 6, 13, 1e-3);
  return s;
}

}  // namespace

TEST(LinearDynamics, ExactSolutionMatchesRk4) {
  for (const auto& [slope, drive] : {std::pair{1.0, 0.0}, std::pair{0.25, 0.0}, std::pair{1.0, 0.3},
                                     std::pair{0.25, -0.2}, std::pair{-0.5, 0.1}}) {
    const SmallSystem s = small_system(slope, drive);
    for (double t : {0.0, 0.5, 3.0, 12.0}) {
      const KernelState exact = evolve_exact(s.dynamics, s.spectrum, s.initial, t);
      const KernelState rk4 = evolve_rk4(s.dynamics, s.initial, t, 4000);
      const double ratio = std::exp(rk4.log_scale - exact.log_scale);
      EXPECT_LT(relative_difference(Matrix<double>(rk4.W * ratio), exact.W), 1e-10)
          << "slope " << slope << ", drive " << drive << ", t " << t;
      EXPECT_LT(relative_difference(Matrix<double>(rk4.A * ratio), exact.A), 1e-10)
          << "slope " << slope << ", drive " << drive << ", t " << t;
    }
  }
}

TEST(LinearDynamics, LongTimesAlignWithV1WithoutOverflow) {
  const SmallSystem s = small_system(1.0, 0.0);
  const double t = 2000.0 / s.spectrum.s(0);  // e^{s₁t} = e^2000 overflows a double
  const KernelState exact = evolve_exact(s.dynamics, s.spectrum, s.initial, t);
  ASSERT_TRUE(exact.W.allFinite());
  EXPECT_NEAR(exact.log_scale, 2000.0, 1e-9);
  EXPECT_NEAR(mean_abs_cosine(exact.W, s.spectrum.v1()), 1.0, 1e-12);
  const KernelState rk4 = evolve_rk4(s.dynamics, s.initial, t, 20000);
  ASSERT_TRUE(rk4.W.allFinite());
  EXPECT_NEAR(mean_abs_cosine(rk4.W, s.spectrum.v1()), 1.0, 1e-12);

  // Misalignment shrinks like e^{−(s₁−s₂)t} (docs/science.md §2.4): each kernel's component along
  // v₂ relative to its component along v₁ drops by e^{−2} over Δt = 2/(s₁−s₂).
  const double gap = s.spectrum.s(0) - s.spectrum.s(1);
  auto ratios = [&](double time) {
    const Matrix<double> W = evolve_exact(s.dynamics, s.spectrum, s.initial, time).W;
    const Matrix<double> modal = W * s.spectrum.right;  // (M, r)
    return Vector<double>(modal.col(1).cwiseQuotient(modal.col(0)));
  };
  const Vector<double> early = ratios(10.0 / gap), late = ratios(12.0 / gap);
  for (Eigen::Index beta = 0; beta < early.size(); ++beta)
    EXPECT_NEAR(late(beta) / early(beta), std::exp(-2.0), 1e-6) << beta;
  const std::vector<double> alignment =
      predicted_alignment(s.dynamics, s.spectrum, s.initial, {0.0, 1.0 / gap, 5.0 / gap});
  EXPECT_LT(alignment[0], alignment[1]);
  EXPECT_LT(alignment[1], alignment[2]);
}

// The linear dynamics against gradient descent on a real two-layer CNN from a tiny init: this
// pins down every factor (the 1/n, the ½ of the loss, the readout layout of kernel_state).
TEST(LinearDynamics, MatchesGradientDescentOnTwoLayerCnn) {
  for (const bool bias : {false, true}) {
    ModelSpec spec;
    spec.input = {2, 6, 5};
    spec.conv = {ConvSpec{3, 3, 1, 1, Pooling::none}};
    spec.activations = {parse_activation("tanh")};
    spec.bias = bias;
    spec.outputs = 2;
    Model<double> model(spec);
    const int N = 20;
    const std::vector<double> x = normal_values(std::size_t(N) * spec.input.size(), 31);
    const Matrix<double> Y = teacher_targets(x, N, 2, 32);
    std::vector<double> y(Y.data(), Y.data() + Y.size());  // (N, K), row-major
    auto& values = model.parameters().values();
    values = ConstVectorMap<double>(normal_values(std::size_t(values.size()), 33, 1e-7).data(),
                                    values.size());
    const TheoryModel theory = theory_model(spec);
    const KernelState initial = kernel_state(theory, model.parameters());

    TheoryProblem problem;
    problem.model = theory;
    problem.inputs = x.data();
    problem.targets = Y;
    problem.epsilon = 1e-7;
    problem.step_lr = 0.01;
    const Prediction prediction = predict(problem);
    const double lr = 0.01;
    const long steps = long(std::ceil(4.0 / prediction.rate1 / lr));  // growth e^4

    std::vector<double> df(std::size_t(N) * 2);
    for (long step = 0; step < steps; ++step) {
      const double* f = model.forward(x.data(), N, step > 0);
      Targets<double> targets;
      targets.values = y.data();
      model.parameters().zero_grad();
      loss_and_gradient(LossKind::mse, f, targets, N, 2, df.data());
      model.backward(df.data());
      // The readout bias is held at 0: the theory's system has no readout bias.
      if (bias) model.parameters().grads().tail(2).setZero();
      values -= lr * model.parameters().grads();
    }
    const KernelState trained = kernel_state(theory, model.parameters());
    const KernelState predicted =
        evolve_exact(linear_dynamics(prediction), prediction.spectrum, initial, lr * steps);
    const Matrix<double> W = predicted.W * std::exp(predicted.log_scale);
    // GD is the flow's Euler discretization: relative error ~ η·s₁·(s₁t) ≈ 1e-2 here.
    EXPECT_LT(relative_difference(trained.W, W), 0.05) << (bias ? "bias" : "no bias");
    for (Eigen::Index beta = 0; beta < W.rows(); ++beta)
      EXPECT_GT(
          trained.W.row(beta).dot(W.row(beta)) / (trained.W.row(beta).norm() * W.row(beta).norm()),
          0.999)
          << "kernel " << beta;
  }
}

// ---------------------------------------------------------------------------------------------
// Refusals.

namespace {

ModelSpec two_layer_cnn(const std::string& activation = "tanh") {
  ModelSpec spec;
  spec.input = {1, 6, 6};
  spec.conv = {ConvSpec{4, 3, 1, 1, Pooling::none}};
  spec.activations = {parse_activation(activation)};
  spec.bias = false;
  spec.outputs = 1;
  return spec;
}

Prediction predict_small(const ModelSpec& spec, const Matrix<double>& Y,
                         const std::vector<double>& x) {
  TheoryProblem problem;
  problem.model = theory_model(spec);
  problem.inputs = x.data();
  problem.targets = Y;
  problem.epsilon = 1e-4;
  problem.step_lr = 0.01;
  return predict(problem);
}

}  // namespace

TEST(Refusals, ModelsTheTheoryDoesNotCover) {
  ModelSpec two_conv = two_layer_cnn();
  two_conv.conv.push_back(ConvSpec{4, 3, 1, 1, Pooling::none});
  EXPECT_CONTAINS(error_of([&] { theory_model(two_conv); }),
                  "no prediction applies to this model: it has 2 conv layers");
  ModelSpec hidden = two_layer_cnn();
  hidden.hidden = {8};
  EXPECT_CONTAINS(error_of([&] { theory_model(hidden); }), "hidden FC layer(s) after the conv");
  ModelSpec pooled = two_layer_cnn();
  pooled.conv[0].pool = Pooling::max2;
  EXPECT_CONTAINS(error_of([&] { theory_model(pooled); }), "followed by max2 pooling");
  ModelSpec deep_fc;
  deep_fc.input = {5, 1, 1};
  deep_fc.hidden = {8, 8};
  deep_fc.activations = {parse_activation("tanh")};
  EXPECT_CONTAINS(error_of([&] { theory_model(deep_fc); }),
                  "no prediction applies to this model: it has 2 hidden layers");
  deep_fc.hidden = {};
  EXPECT_CONTAINS(error_of([&] { theory_model(deep_fc); }), "no hidden layer");
  deep_fc.hidden = {8};
  EXPECT_EQ(theory_model(deep_fc).family, TheoryFamily::fc);
}

// The covered models are an allow-list of layer sequences: a sequence that differs from every
// listed one in any layer, including a kind of layer the list does not name, is refused.
TEST(Refusals, OnlyListedLayerSequencesAreCovered) {
  using Kinds = std::vector<std::string_view>;
  const Kinds cnn = {"conv2d", "activation", "flatten", "linear"};
  const Kinds fc = {"linear", "activation", "linear"};
  const Kinds fc_on_images = {"flatten", "linear", "activation", "linear"};
  EXPECT_EQ(theory_family(cnn), TheoryFamily::cnn);
  EXPECT_EQ(theory_family(fc), TheoryFamily::fc);
  EXPECT_EQ(theory_family(fc_on_images), TheoryFamily::fc);
  // Every sequence one layer away from a listed one: refused unless it is itself listed.
  auto check = [&](const Kinds& kinds) {
    const bool listed = kinds == cnn || kinds == fc || kinds == fc_on_images;
    EXPECT_EQ(theory_family(kinds).has_value(), listed) << fmt::format("{}", fmt::join(kinds, " "));
  };
  const std::vector<std::string_view> kinds = {"conv2d", "activation", "pool2d",    "flatten",
                                               "linear", "residual",   "batch_norm"};
  int checked = 0;
  for (const Kinds& covered : {cnn, fc, fc_on_images})
    for (std::size_t at = 0; at <= covered.size(); ++at) {
      for (const std::string_view kind : kinds) {
        Kinds longer = covered;
        longer.insert(longer.begin() + std::ptrdiff_t(at), kind);
        check(longer);
        if (at == covered.size()) continue;
        Kinds replaced = covered;
        replaced[at] = kind;
        check(replaced);
        ++checked;
      }
      if (at == covered.size()) continue;
      Kinds shorter = covered;
      shorter.erase(shorter.begin() + std::ptrdiff_t(at));
      check(shorter);
    }
  EXPECT_EQ(checked, 7 * 11);
  EXPECT_FALSE(theory_family({}));
  EXPECT_FALSE(theory_family({"conv2d", "activation", "batch_norm", "flatten", "linear"}));
}

// What theory_model accepts is what the list names; every description it accepts builds those
// layers.
TEST(Refusals, TheoryModelAcceptsTheListedFamiliesOnly) {
  ModelSpec cnn = two_layer_cnn();
  EXPECT_EQ(theory_model(cnn).family, TheoryFamily::cnn);
  ModelSpec fc;
  fc.input = {1, 4, 4};
  fc.hidden = {8};
  fc.activations = {parse_activation("tanh")};
  EXPECT_EQ(theory_model(fc).family, TheoryFamily::fc);
  EXPECT_EQ(theory_model(fc).features, 16);
  // A description the model itself refuses has no prediction either: two activations for one
  // activated layer.
  ModelSpec two_names = two_layer_cnn();
  two_names.activations.push_back(parse_activation("relu"));
  EXPECT_CONTAINS(error_of([&] { theory_model(two_names); }), "model.activation lists 2 names");
}

// Activations are an allow-list too; every listed one has the leading term the prediction needs,
// and every built-in outside it is refused with its reason.
TEST(Refusals, OnlyListedActivationsAreCovered) {
  const std::vector<std::string> covered = theory_activation_names();
  EXPECT_EQ(covered,
            (std::vector<std::string>{"identity", "tanh", "sigmoid", "softplus", "gelu", "silu"}));
  for (const std::string& name : covered) {
    const ActivationExpansion e = expand_at_zero(parse_activation(name));
    EXPECT_FALSE(e.kink) << name;
    ASSERT_TRUE(e.slope_at_zero) << name;
    EXPECT_NE(*e.slope_at_zero, 0.0) << name;
  }
  const std::vector<double> x = normal_values(36 * 10, 41);
  const Matrix<double> Y = teacher_targets(x, 10, 1, 42);
  for (const std::string& name : activation_names()) {
    const bool listed = std::find(covered.begin(), covered.end(), name) != covered.end();
    EXPECT_EQ(theory_covers_activation(parse_activation(name)), listed) << name;
    if (listed) continue;
    const std::string error = error_of([&] { predict_small(two_layer_cnn(name), Y, x); });
    EXPECT_CONTAINS(error, "activation " + name);
    EXPECT_CONTAINS(error, "docs/science.md §2.");
  }
  EXPECT_FALSE(theory_covers_activation(parse_activation("leaky_relu:0.2")));
}

TEST(Refusals, ActivationsWithoutALeadingTerm) {
  const std::vector<double> x = normal_values(36 * 10, 41);
  const Matrix<double> Y = teacher_targets(x, 10, 1, 42);
  for (const char* name : {"relu", "leaky_relu"})
    EXPECT_CONTAINS(error_of([&] { predict_small(two_layer_cnn(name), Y, x); }),
                    "the linearization of docs/science.md §2.3 does not apply");
  EXPECT_CONTAINS(error_of([&] { predict_small(two_layer_cnn("xtanh"), Y, x); }),
                  "σ'(0) = 0: the leading term σ'(0)·Z of docs/science.md §2.5 vanishes");
  EXPECT_CONTAINS(error_of([&] { predict_small(two_layer_cnn("x2tanh"), Y, x); }),
                  "multiplicity p = 3");
  // σ(0) ≠ 0 is covered, with a note.
  const Prediction sigmoid = predict_small(two_layer_cnn("sigmoid"), Y, x);
  EXPECT_NEAR(sigmoid.rate1, 0.25 * sigmoid.spectrum.s(0), 1e-15);
}

TEST(Refusals, DegenerateGapAndZeroCorrelation) {
  // FC, two outputs, z̄₁ ⊥ z̄₂ of equal length: s₁ = s₂, no single direction.
  ModelSpec fc;
  fc.input = {2, 1, 1};
  fc.hidden = {4};
  fc.activations = {parse_activation("tanh")};
  fc.bias = false;
  fc.outputs = 2;
  const std::vector<double> x = {1, 0, 0, 1};
  const Matrix<double> Y = Matrix<double>::Identity(2, 2);
  EXPECT_CONTAINS(error_of([&] { predict_small(fc, Y, x); }), "the direction v1 is not determined");
  const Matrix<double> zero = Matrix<double>::Zero(2, 2);
  EXPECT_CONTAINS(error_of([&] { predict_small(fc, zero, x); }), "the correlation Z is zero");
}

TEST(Prediction, FcDirectionIsTheMeanLabelledInput) {
  ModelSpec fc;
  fc.input = {6, 1, 1};
  fc.hidden = {5};
  fc.activations = {parse_activation("tanh")};
  fc.bias = true;
  fc.outputs = 1;
  const std::vector<double> x = normal_values(6 * 30, 51);
  const Matrix<double> Y = teacher_targets(x, 30, 1, 52);
  const Prediction p = predict_small(fc, Y, x);
  const Matrix<double> z = fc_correlation(6, true, x.data(), Y);  // (1, 7)
  EXPECT_NEAR(std::abs(p.v1().dot(z.row(0).transpose())) / z.norm(), 1.0, 1e-14);
  EXPECT_EQ(p.spectrum.s(1), 0.0);
  EXPECT_NEAR(p.gap(), z.norm(), 1e-14);
}

TEST(Prediction, TimeScalesFollowTheFormulas) {
  const std::vector<double> x = normal_values(36 * 20, 61);
  const Matrix<double> Y = teacher_targets(x, 20, 1, 62);
  const Prediction p = predict_small(two_layer_cnn("tanh"), Y, x);
  const double gap = p.spectrum.s(0) - p.spectrum.s(1);
  EXPECT_NEAR(p.align_1e2.time, std::log(100.0) / gap, 1e-12);
  EXPECT_NEAR(p.align_1e3.time, std::log(1000.0) / gap, 1e-12);
  EXPECT_NEAR(p.linear_end.time, std::log(1e4) / p.spectrum.s(0), 1e-12);
  ASSERT_TRUE(p.linear_end.steps);
  EXPECT_NEAR(*p.linear_end.steps, p.linear_end.time / 0.01, 1e-9);
  const nlohmann::json j = prediction_json(p);
  EXPECT_EQ(j["theory"], "docs/science.md §2, derived in docs/theory.md");
  EXPECT_EQ(j["activation"]["multiplicity_p"], 1);
  EXPECT_EQ(j["activation"]["orientations_2p"], 2);
  EXPECT_EQ(j["direction"]["shape"], nlohmann::json({1, 3, 3}));
  EXPECT_TRUE(j["direction"]["v1_bias"].is_null());
  EXPECT_EQ(j["correlation"]["singular_values"].size(), 9u);
}

// ---------------------------------------------------------------------------------------------
// `condense predict`, end to end.

namespace {

struct CommandResult {
  int code = -1;
  std::string output;
};

CommandResult run_condense(const std::string& arguments) {
  const std::string command = std::string(CONDENSE_BINARY) + " " + arguments + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  CommandResult result;
  char buffer[4096];
  while (std::size_t n = fread(buffer, 1, sizeof(buffer), pipe)) result.output.append(buffer, n);
  const int status = pclose(pipe);
  result.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

const char* kGaussianSets =
    "--set data.dataset=gaussian --set 'data.gaussian_shape=[2, 7, 7]' --set data.train_size=60 "
    "--set 'data.positive_classes=[0]' --set 'model.conv=[{ channels = 4, kernel = 3, stride = 2, "
    "padding = 1 }]'";

}  // namespace

TEST(PredictCommand, WritesPredictionAndV1) {
  const fs::path dir = fs::temp_directory_path() / ("condense_predict_" + std::to_string(getpid()));
  fs::remove_all(dir);
  const CommandResult r = run_condense(std::string("predict ") + kGaussianSets +
                                       " --set model.bias=true --out " + dir.string());
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_CONTAINS(r.output, "t_align(1e-2)");
  const NpyArray v1 = read_npy(dir / "v1.npy");
  EXPECT_EQ(v1.shape, (std::vector<std::int64_t>{2, 3, 3}));
  const nlohmann::json j = nlohmann::json::parse(read_file(dir / "prediction.json"));
  EXPECT_TRUE(j["direction"]["v1_bias"].is_number());
  EXPECT_EQ(j["model"]["positions"], 16);
  EXPECT_EQ(j["model"]["direction_size"], 19);
  // v1.npy is the weight part of the unit vector in the JSON.
  for (std::size_t i = 0; i < 18; ++i)
    EXPECT_DOUBLE_EQ(v1.values[i], j["direction"]["v1"][i].get<double>());
  fs::remove_all(dir);
}

TEST(PredictCommand, RefusesWithAReason) {
  const fs::path dir =
      fs::temp_directory_path() / ("condense_predict_bad_" + std::to_string(getpid()));
  CommandResult r = run_condense(std::string("predict ") + kGaussianSets +
                                 " --set model.activation=relu --out " + dir.string());
  EXPECT_EQ(r.code, 2);
  EXPECT_CONTAINS(r.output, "does not apply");
  r = run_condense(std::string("predict ") + kGaussianSets + " --set 'model.hidden=[8]' --out " +
                   dir.string());
  EXPECT_EQ(r.code, 2);
  EXPECT_CONTAINS(r.output, "no prediction applies to this model");
  EXPECT_FALSE(fs::exists(dir / "prediction.json"));
  fs::remove_all(dir);
}
