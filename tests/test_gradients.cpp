// Finite-difference checks of every layer, activation, loss and whole model (tests/gradcheck.hpp).
//
// To add a layer, copy this case and change the three marked lines:
//
//   TEST(GradientsOfMyLayer, MatchFiniteDifferences) {
//     const int N = 3;                                                  // a few samples
//     MyLayer<double> layer("my1", {2, 5, 4}, /* its arguments */);     // <- 1: the layer
//     ParameterStore<double> store;
//     layer.declare(store);
//     store.allocate();
//     gradcheck::fill_normal(store.values().data(), store.size(), 0.5, 11);
//     auto x = gradcheck::normal_vector(N * layer.input_shape().size(), 1.0, 12);
//     gradcheck::Options options;                                       // <- 2: step, tolerance
//     const auto report = gradcheck::check_layer(layer, store, x, N, options);
//     gradcheck::expect_gradients_match(report, options);               // <- 3: nothing to change
//   }
//
// check_layer checks dL/dθ for every tensor the layer declares and dL/dx, with L = Σ y·r for a
// fixed random r (so dy = r), and holds backward to "add into dθ, assign dx". Layers with kinks
// (max-pool, ReLU) need nothing special: kinks are detected and skipped, and the skipped fraction
// is bounded.
#include <gtest/gtest-spi.h>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cctype>
#include <cmath>
#include <string>
#include <tuple>

#include "condense/core/parallel.hpp"
#include "condense/nn/conv2d.hpp"
#include "condense/nn/elementwise.hpp"
#include "condense/nn/init.hpp"
#include "condense/nn/linear.hpp"
#include "condense/nn/pool.hpp"
#include "condense/nn/residual.hpp"
#include "gradcheck.hpp"

namespace condense {
namespace {

// A check runs thousands of forward passes on tiny batches, where waking a thread team costs more
// than the work, and far more on a loaded machine. One thread gives the same bits as several
// (tests/test_model.cpp checks it), so the checks run on one.
class OneThread : public ::testing::Environment {
 public:
  void SetUp() override { set_thread_count(1); }
};
const auto* const one_thread = ::testing::AddGlobalTestEnvironment(new OneThread);

// Declares the layer's tensors, draws its weights and an input, and runs the checker.
void check_layer_gradients(Layer<double>& layer, int N, double weight_std,
                           const gradcheck::Options& options = {}) {
  ParameterStore<double> store;
  layer.declare(store);
  store.allocate();
  gradcheck::fill_normal(store.values().data(), store.size(), weight_std, 11);
  auto x = gradcheck::normal_vector(std::size_t(N * layer.input_shape().size()), 1.0, 12);
  const auto report = gradcheck::check_layer(layer, store, x, N, options);
  gradcheck::expect_gradients_match(report, options);
}

// ---- Conv2d: every combination of stride, padding, kernel, input channels and bias ------------

using ConvCase = std::tuple<int, int, int, int, bool>;  // stride, padding, kernel, channels, bias

class Conv2dGradients : public ::testing::TestWithParam<ConvCase> {};

TEST_P(Conv2dGradients, MatchFiniteDifferences) {
  const auto [stride, padding, kernel, channels, bias] = GetParam();
  // A non-square input; 5 samples span two of the backward pass's 4-sample chunks.
  Conv2d<double> layer("conv1", {channels, 7, 9}, 3, kernel, stride, padding, bias);
  check_layer_gradients(layer, 5, 0.5);
}

std::string conv_case_name(const ::testing::TestParamInfo<ConvCase>& param_info) {
  const auto [stride, padding, kernel, channels, bias] = param_info.param;
  return fmt::format("s{}_p{}_k{}_c{}_{}", stride, padding, kernel, channels,
                     bias ? "bias" : "nobias");
}

INSTANTIATE_TEST_SUITE_P(AllGeometries, Conv2dGradients,
                         ::testing::Combine(::testing::Values(1, 2, 3), ::testing::Values(0, 1, 2),
                                            ::testing::Values(1, 3, 5), ::testing::Values(1, 3),
                                            ::testing::Bool()),
                         conv_case_name);

TEST(Conv2dGradients, WithoutInputGradientStillAddsParameterGradients) {
  // The first layer of a model gets dx = null.
  Conv2d<double> layer("conv1", {2, 6, 5}, 4, 3, 1, 1, true);
  ParameterStore<double> store;
  layer.declare(store);
  store.allocate();
  gradcheck::fill_normal(store.values().data(), store.size(), 0.5, 3);
  const int N = 3;
  auto x = gradcheck::normal_vector(std::size_t(N * layer.input_shape().size()), 1.0, 4);
  auto dy = gradcheck::normal_vector(std::size_t(N * layer.output_shape().size()), 1.0, 5);
  std::vector<double> y(dy.size()), dx(x.size());
  layer.reserve(N);
  layer.forward(store, x.data(), y.data(), N, false);
  layer.backward(store, x.data(), y.data(), dy.data(), dx.data(), N);
  const Vector<double> with_dx = store.grads();
  store.zero_grad();
  layer.backward(store, x.data(), y.data(), dy.data(), nullptr, N);
  EXPECT_EQ(store.grads(), with_dx);
}

// ---- Linear ---------------------------------------------------------------------------------

TEST(LinearGradients, WithBias) {
  Linear<double> layer("fc1", {6, 1, 1}, 4, true);
  check_layer_gradients(layer, 3, 0.5);
}

TEST(LinearGradients, WithoutBias) {
  Linear<double> layer("fc1", {6, 1, 1}, 4, false);
  check_layer_gradients(layer, 3, 0.5);
}

TEST(LinearGradients, ImageInputAndSeveralBlocks) {
  // A (C, H, W) input read flattened; 35 samples and 70 outputs cross the fixed row and tile
  // blocks of linear.cpp.
  Linear<double> layer("fc1", {2, 3, 4}, 70, true);
  check_layer_gradients(layer, 35, 0.3);
}

// ---- Pooling --------------------------------------------------------------------------------

using PoolCase = std::tuple<PoolKind, int, int, int, int>;  // kind, kernel, stride, H, W

class PoolGradients : public ::testing::TestWithParam<PoolCase> {};

TEST_P(PoolGradients, MatchFiniteDifferences) {
  const auto [kind, kernel, stride, height, width] = GetParam();
  Pool2d<double> layer("pool1", {3, height, width}, kind, kernel, stride);
  check_layer_gradients(layer, 3, 0.5);
}

std::string pool_case_name(const ::testing::TestParamInfo<PoolCase>& param_info) {
  const auto [kind, kernel, stride, height, width] = param_info.param;
  return std::string(kind == PoolKind::max ? "max" : "avg") + "_k" + std::to_string(kernel) + "_s" +
         std::to_string(stride) + "_" + std::to_string(height) + "x" + std::to_string(width);
}

INSTANTIATE_TEST_SUITE_P(KernelsAndStrides, PoolGradients,
                         ::testing::Values(PoolCase{PoolKind::average, 2, 2, 8, 6},
                                           PoolCase{PoolKind::average, 2, 2, 7, 9},
                                           PoolCase{PoolKind::average, 3, 2, 7, 9},
                                           PoolCase{PoolKind::average, 3, 2, 8, 6},
                                           PoolCase{PoolKind::max, 2, 2, 8, 6},
                                           PoolCase{PoolKind::max, 2, 2, 7, 9},
                                           PoolCase{PoolKind::max, 3, 2, 7, 9},
                                           PoolCase{PoolKind::max, 3, 2, 8, 6}),
                         pool_case_name);

// ---- Residual block ---------------------------------------------------------------------------

TEST(ResidualBlockGradients, WithBias) {
  ResidualBlock<double> layer("fc2", {7, 1, 1}, 7, parse_activation("tanh"), true);
  check_layer_gradients(layer, 4, 0.5);
}

TEST(ResidualBlockGradients, WithoutBias) {
  ResidualBlock<double> layer("fc2", {7, 1, 1}, 7, parse_activation("xtanh"), false);
  check_layer_gradients(layer, 4, 0.5);
}

TEST(ResidualBlockGradients, WithKinkedActivation) {
  ResidualBlock<double> layer("fc2", {7, 1, 1}, 7, parse_activation("relu"), true);
  check_layer_gradients(layer, 4, 0.5);
}

// ---- Activations ----------------------------------------------------------------------------

class ActivationGradients : public ::testing::TestWithParam<std::string> {};

TEST_P(ActivationGradients, MatchFiniteDifferences) {
  ActivationLayer<double> layer("act1", {2, 4, 3}, parse_activation(GetParam()));
  ParameterStore<double> store;
  store.allocate();
  const int N = 4;
  // Spread over [-5, 5] or so, past softplus's and sigmoid's bends.
  auto x = gradcheck::normal_vector(std::size_t(N * layer.input_shape().size()), 2.0, 21);
  gradcheck::Options options;
  options.max_coordinates = 96;  // the whole input
  const auto report = gradcheck::check_layer(layer, store, x, N, options);
  gradcheck::expect_gradients_match(report, options);
}

std::vector<std::string> all_activation_names() {
  std::vector<std::string> names = activation_names();
  names.push_back("leaky_relu:0.2");
  return names;
}

INSTANTIATE_TEST_SUITE_P(EveryActivation, ActivationGradients,
                         ::testing::ValuesIn(all_activation_names()),
                         [](const ::testing::TestParamInfo<std::string>& param_info) {
                           std::string name = param_info.param;
                           for (char& c : name)
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           return name;
                         });

// ---- Losses ---------------------------------------------------------------------------------

TEST(LossGradients, MseOneOutput) {
  const int N = 5, K = 1;
  auto f = gradcheck::normal_vector(N * K, 1.0, 31);
  const auto y = gradcheck::normal_vector(N * K, 1.0, 32);
  gradcheck::Options options;
  const auto report = gradcheck::check_loss(LossKind::mse, f, {y.data(), nullptr}, N, K, options);
  gradcheck::expect_gradients_match(report, options);
}

TEST(LossGradients, MseSeveralOutputs) {
  const int N = 5, K = 3;
  auto f = gradcheck::normal_vector(N * K, 1.0, 33);
  const auto y = gradcheck::normal_vector(N * K, 1.0, 34);
  gradcheck::Options options;
  const auto report = gradcheck::check_loss(LossKind::mse, f, {y.data(), nullptr}, N, K, options);
  gradcheck::expect_gradients_match(report, options);
}

TEST(LossGradients, CrossEntropy) {
  const int N = 6, K = 4;
  auto f = gradcheck::normal_vector(N * K, 2.0, 35);
  const std::vector<int> labels = {0, 3, 1, 2, 3, 0};
  gradcheck::Options options;
  const auto report =
      gradcheck::check_loss(LossKind::cross_entropy, f, {nullptr, labels.data()}, N, K, options);
  gradcheck::expect_gradients_match(report, options);
}

TEST(LossGradients, CrossEntropyWithLargeLogits) {
  // The log-sum-exp is shifted by the largest logit: no overflow at logits of a few hundred.
  const int N = 3, K = 3;
  std::vector<double> f = {300.0, 299.0, 298.5, -400.0, -401.0, -399.5, 0.0, 500.0, 499.0};
  const std::vector<int> labels = {1, 2, 0};
  gradcheck::Options options;
  const auto report =
      gradcheck::check_loss(LossKind::cross_entropy, f, {nullptr, labels.data()}, N, K, options);
  gradcheck::expect_gradients_match(report, options);
}

// ---- Whole models ---------------------------------------------------------------------------

std::vector<Activation> activations(std::initializer_list<const char*> names) {
  std::vector<Activation> list;
  for (const char* name : names) list.push_back(parse_activation(name));
  return list;
}

// Draws every parameter from N(0, fan_in^-1): activations stay in their curved range.
void initialize_for_check(Model<double>& model, std::uint64_t seed) {
  InitConfig init;
  init.all.gamma = 0.5;
  initialize(model.parameters(), init, seed);
}

void check_model_gradients(const ModelSpec& spec, int N, LossKind loss,
                           const gradcheck::Options& options = {}) {
  Model<double> model(spec);
  initialize_for_check(model, 41);
  const auto x = gradcheck::normal_vector(std::size_t(N * spec.input.size()), 1.0, 42);
  const auto values = gradcheck::normal_vector(std::size_t(N * spec.outputs), 1.0, 43);
  std::vector<int> labels(static_cast<std::size_t>(N));
  for (int n = 0; n < N; ++n) labels[std::size_t(n)] = (3 * n + 1) % spec.outputs;
  const Targets<double> targets = loss == LossKind::mse ? Targets<double>{values.data(), nullptr}
                                                        : Targets<double>{nullptr, labels.data()};
  const auto report = gradcheck::check_model(model, x, N, loss, targets, options);
  ASSERT_EQ(int(report.tensors.size()), model.parameters().count());
  gradcheck::expect_gradients_match(report, options);
}

TEST(ModelGradients, TwoLayerCnn) {
  // The model of docs/science.md §2.1: conv, activation, then a readout over every position (via
  // Flatten), which the model runs as one fused pass (nn/conv_readout.hpp).
  ModelSpec spec;
  spec.input = {2, 8, 7};
  spec.conv = {{4, 3, 1, 1, Pooling::none}};
  spec.activations = activations({"tanh"});
  check_model_gradients(spec, 5, LossKind::mse);
}

TEST(ModelGradients, TwoLayerCnnSingleOutputWithPaddingTwo) {
  // Stride 1 with padding 2 and output rows of 9 positions (two vector packets and one left
  // over): the direct convolution and the single-output backward sweep (nn/conv_readout.cpp).
  ModelSpec spec;
  spec.input = {2, 6, 5};
  spec.conv = {{3, 3, 1, 2, Pooling::none}};
  spec.activations = activations({"sigmoid"});
  check_model_gradients(spec, 9, LossKind::mse);
}

TEST(ModelGradients, TwoLayerCnnSeveralOutputsWithoutBias) {
  ModelSpec spec;
  spec.input = {3, 7, 9};
  spec.conv = {{5, 3, 2, 0, Pooling::none}};
  spec.activations = activations({"xtanh"});
  spec.bias = false;
  spec.outputs = 3;
  check_model_gradients(spec, 5, LossKind::mse);
}

TEST(ModelGradients, TwoLayerCnnWithReluOverSeveralChunks) {
  // 10 samples: two of the fused backward pass's 8-sample chunks.
  ModelSpec spec;
  spec.input = {3, 9, 8};
  spec.conv = {{5, 3, 1, 1, Pooling::none}};
  spec.activations = activations({"relu"});
  spec.outputs = 4;
  // One pre-activation lies 1.1e-5 from ReLU's kink, and every weight of its kernel moves it by
  // about h: with h = 1e-5 a tenth of conv1.weight would straddle the kink. A smaller step
  // avoids it and still leaves round-off far below the tolerance.
  gradcheck::Options options;
  options.step = 1e-6;
  check_model_gradients(spec, 10, LossKind::cross_entropy, options);
}

TEST(ModelGradients, ThreeConvCnnWithPoolingAndTwoFcLayers) {
  ModelSpec spec;
  spec.input = {3, 12, 12};
  spec.conv = {
      {4, 3, 1, 1, Pooling::max2}, {5, 3, 1, 1, Pooling::avg2}, {6, 3, 1, 0, Pooling::none}};
  spec.hidden = {10};
  spec.activations = activations({"tanh", "softplus", "sigmoid", "silu"});
  spec.outputs = 4;
  check_model_gradients(spec, 5, LossKind::cross_entropy);
}

TEST(ModelGradients, ThreeConvCnnWithReluAndMaxPooling) {
  // Kinks in every layer: ReLU after each layer and max-pooling.
  ModelSpec spec;
  spec.input = {3, 12, 12};
  spec.conv = {
      {4, 3, 1, 1, Pooling::max2}, {5, 3, 1, 1, Pooling::max2}, {6, 3, 1, 1, Pooling::none}};
  spec.hidden = {10};
  spec.activations = activations({"relu"});
  spec.outputs = 4;
  check_model_gradients(spec, 5, LossKind::cross_entropy);
}

TEST(ModelGradients, ResidualFcNetWithPerLayerActivations) {
  ModelSpec spec;
  spec.input = {5, 1, 1};
  spec.hidden = {8, 8, 8};
  spec.residual = true;
  spec.activations = activations({"tanh", "xtanh", "gelu"});
  spec.outputs = 2;
  check_model_gradients(spec, 6, LossKind::mse);
}

TEST(ModelGradients, ResidualFcNetWithoutBias) {
  ModelSpec spec;
  spec.input = {5, 1, 1};
  spec.hidden = {8, 8};
  spec.residual = true;
  spec.bias = false;
  spec.activations = activations({"x2tanh", "leaky_relu:0.2"});
  check_model_gradients(spec, 6, LossKind::mse);
}

TEST(ModelGradients, FcNetOnImagesThroughFlatten) {
  ModelSpec spec;
  spec.input = {2, 3, 3};
  spec.hidden = {6};
  spec.activations = activations({"sigmoid"});
  spec.outputs = 3;
  check_model_gradients(spec, 4, LossKind::cross_entropy);
}

// ---- The checker itself: it must fail on wrong gradients, not only pass on right ones ---------

enum class Bug { none, scaled_gradient, assigns_parameter_gradient, adds_input_gradient };
enum class Shape { sine, absolute };

// y = w ⊙ g(x) per feature, with a choice of g and of a deliberate mistake in backward.
class ProbeLayer final : public Layer<double> {
 public:
  ProbeLayer(int features, Shape shape, Bug bug)
      : Layer<double>("probe", {features, 1, 1}, {features, 1, 1}), shape_(shape), bug_(bug) {}
  std::string describe() const override { return "probe"; }
  std::string_view kind() const override { return "probe"; }
  void declare(ParameterStore<double>& store) override {
    const int F = output_.channels;
    weight_id_ = store.add("probe", false, {F}, 1, 1);
  }
  void forward(ParameterStore<double>& store, const double* x, double* y, int N, bool) override {
    const int F = output_.channels;
    for (int i = 0; i < N * F; ++i) y[i] = store.value(weight_id_)[i % F] * g(x[i]);
  }
  void backward(ParameterStore<double>& store, const double* x, const double*, const double* dy,
                double* dx, int N) override {
    const int F = output_.channels;
    double* dw = store.grad(weight_id_);
    if (bug_ == Bug::assigns_parameter_gradient) std::fill(dw, dw + F, 0.0);
    const double factor = bug_ == Bug::scaled_gradient ? 1.001 : 1.0;
    for (int i = 0; i < N * F; ++i) {
      dw[i % F] += dy[i] * g(x[i]) * factor;
      const double dxi = dy[i] * store.value(weight_id_)[i % F] * dg(x[i]);
      if (bug_ == Bug::adds_input_gradient)
        dx[i] += dxi;
      else
        dx[i] = dxi;
    }
  }

 private:
  double g(double x) const {
    switch (shape_) {
      case Shape::sine:
        return std::sin(x);
      case Shape::absolute:
        return std::abs(x);
    }
    return 0;
  }
  double dg(double x) const {
    switch (shape_) {
      case Shape::sine:
        return std::cos(x);
      case Shape::absolute:
        return x > 0 ? 1.0 : -1.0;
    }
    return 0;
  }
  Shape shape_;
  Bug bug_;
  int weight_id_ = -1;
};

gradcheck::Report check_probe(Shape shape, Bug bug, std::vector<double> x) {
  ProbeLayer layer(4, shape, bug);
  ParameterStore<double> store;
  layer.declare(store);
  store.allocate();
  gradcheck::fill_normal(store.values().data(), store.size(), 1.0, 51);
  return gradcheck::check_layer(layer, store, x, int(x.size()) / 4, gradcheck::Options{});
}

std::vector<double> probe_input() {
  return gradcheck::normal_vector(12, 1.0, 52);
}

TEST(GradientChecker, PassesACorrectLayer) {
  const auto report = check_probe(Shape::sine, Bug::none, probe_input());
  gradcheck::expect_gradients_match(report, gradcheck::Options{});
}

TEST(GradientChecker, CatchesAGradientOffByOnePartInAThousand) {
  const auto report = check_probe(Shape::sine, Bug::scaled_gradient, probe_input());
  ASSERT_EQ(report.tensors.at(0).name, "probe.weight");
  EXPECT_GT(report.tensors[0].worst_error, 100 * gradcheck::Options{}.tolerance);
  EXPECT_LE(report.tensors[1].worst_error, gradcheck::Options{}.tolerance);  // dx is right
}

TEST(GradientChecker, CatchesABackwardThatAssignsParameterGradients) {
  EXPECT_FALSE(check_probe(Shape::sine, Bug::assigns_parameter_gradient, probe_input())
                   .adds_parameter_gradients);
}

TEST(GradientChecker, CatchesABackwardThatAddsIntoTheInputGradient) {
  EXPECT_FALSE(
      check_probe(Shape::sine, Bug::adds_input_gradient, probe_input()).assigns_input_gradient);
}

TEST(GradientChecker, SkipsExactlyTheCoordinatesAtAKink) {
  auto x = probe_input();
  x[1] = 0.0;  // |x| has its kink here
  x[6] = 0.0;
  const auto report = check_probe(Shape::absolute, Bug::none, x);
  const auto& input = report.tensors.at(1);
  EXPECT_EQ(input.skipped, 2);
  EXPECT_EQ(input.checked, 10);
  EXPECT_LE(input.worst_error, gradcheck::Options{}.tolerance);
}

gradcheck::Report kinked_report;  // EXPECT_NONFATAL_FAILURE cannot see local variables

TEST(GradientChecker, FailsWhenTooManyCoordinatesAreSkipped) {
  // Most inputs within h of the kink of |x|: the check must not pass on the few that are left.
  auto x = probe_input();
  for (std::size_t i = 0; i < 10; ++i) x[i] = (i % 2 ? 3e-6 : -4e-6);
  kinked_report = check_probe(Shape::absolute, Bug::none, x);
  EXPECT_EQ(kinked_report.tensors.at(1).skipped, 10);
  EXPECT_NONFATAL_FAILURE(gradcheck::expect_gradients_match(kinked_report, gradcheck::Options{}),
                          "straddled a kink");
}

}  // namespace
}  // namespace condense
