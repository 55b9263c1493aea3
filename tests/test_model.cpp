// Models (nn/model.hpp): PyTorch's parameter names and shapes, the errors of impossible
// descriptions, initialization (nn/init.hpp), bit-identical training across thread counts,
// weights as NPY files (nn/weights_io.hpp), and divergence in train_step.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "condense/core/error.hpp"
#include "condense/core/npy.hpp"
#include "condense/core/parallel.hpp"
#include "condense/core/rng.hpp"
#include "condense/nn/conv2d.hpp"
#include "condense/nn/elementwise.hpp"
#include "condense/nn/init.hpp"
#include "condense/nn/linear.hpp"
#include "condense/nn/model.hpp"
#include "condense/nn/pool.hpp"
#include "condense/nn/residual.hpp"
#include "condense/nn/weights_io.hpp"
#include "condense/train/step.hpp"

namespace condense {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

std::vector<Activation> activations(std::initializer_list<const char*> names) {
  std::vector<Activation> list;
  for (const char* name : names) list.push_back(parse_activation(name));
  return list;
}

// conv(3→8, k5, p2) + max-pool, conv(8→16, k3, s2, p1), fc 256→32, fc 32→10.
ModelSpec small_cnn() {
  ModelSpec spec;
  spec.input = {3, 16, 16};
  spec.conv = {{8, 5, 1, 2, Pooling::max2}, {16, 3, 2, 1, Pooling::none}};
  spec.hidden = {32};
  spec.activations = activations({"tanh"});
  spec.outputs = 10;
  return spec;
}

ModelSpec residual_fc_net() {
  ModelSpec spec;
  spec.input = {5, 1, 1};
  spec.hidden = {8, 8, 8};
  spec.residual = true;
  spec.activations = activations({"tanh", "relu", "xtanh"});
  return spec;
}

struct ExpectedTensor {
  std::string name;
  std::vector<std::int64_t> shape;
  int fan_in;
};

void expect_tensors(const ParameterStore<double>& store,
                    const std::vector<ExpectedTensor>& expected) {
  ASSERT_EQ(store.count(), int(expected.size()));
  std::size_t offset = 0;
  for (int id = 0; id < store.count(); ++id) {
    const ParameterInfo& info = store.info(id);
    EXPECT_EQ(info.name, expected[std::size_t(id)].name);
    EXPECT_EQ(info.shape, expected[std::size_t(id)].shape) << info.name;
    EXPECT_EQ(info.fan_in, expected[std::size_t(id)].fan_in) << info.name;
    EXPECT_EQ(info.offset, offset) << info.name;  // one flat buffer, in declaration order
    EXPECT_EQ(store.find(info.name), id);
    offset += info.size;
  }
  EXPECT_EQ(store.size(), offset);
}

// ---- Names and shapes -----------------------------------------------------------------------

TEST(ModelParameters, CnnHasPyTorchNamesAndShapes) {
  Model<double> model(small_cnn());
  // 16×16 → conv1 (k5, p2) 16×16 → pool 8×8 → conv2 (k3, s2, p1) 4×4: fc1 reads 16·4·4 = 256.
  expect_tensors(model.parameters(), {{"conv1.weight", {8, 3, 5, 5}, 75},
                                      {"conv1.bias", {8}, 75},
                                      {"conv2.weight", {16, 8, 3, 3}, 72},
                                      {"conv2.bias", {16}, 72},
                                      {"fc1.weight", {32, 256}, 256},
                                      {"fc1.bias", {32}, 256},
                                      {"fc2.weight", {10, 32}, 32},
                                      {"fc2.bias", {10}, 32}});
  EXPECT_EQ(model.parameters().find("fc3.weight"), -1);
  EXPECT_EQ(model.outputs(), 10);
  std::vector<std::string> layer_names;
  for (const auto& layer : model.layers()) layer_names.push_back(layer->name());
  EXPECT_EQ(layer_names, (std::vector<std::string>{"conv1", "act1", "pool1", "conv2", "act2",
                                                   "flatten", "fc1", "act3", "fc2"}));
}

TEST(ModelParameters, TwoLayerCnnWithoutBias) {
  ModelSpec spec;
  spec.input = {1, 28, 28};
  spec.conv = {{6, 5, 3, 0, Pooling::none}};  // (28 − 5)/3 + 1 = 8
  spec.activations = activations({"tanh"});
  spec.bias = false;
  ASSERT_TRUE(spec.is_two_layer_cnn());
  Model<double> model(spec);
  expect_tensors(model.parameters(),
                 {{"conv1.weight", {6, 1, 5, 5}, 25}, {"fc1.weight", {1, 6 * 8 * 8}, 384}});
}

TEST(ModelParameters, ResidualFcNetHasPyTorchNamesAndShapes) {
  Model<double> model(residual_fc_net());
  expect_tensors(model.parameters(), {{"fc1.weight", {8, 5}, 5},
                                      {"fc1.bias", {8}, 5},
                                      {"fc2.weight", {8, 8}, 8},
                                      {"fc2.bias", {8}, 8},
                                      {"fc3.weight", {8, 8}, 8},
                                      {"fc3.bias", {8}, 8},
                                      {"fc4.weight", {1, 8}, 8},
                                      {"fc4.bias", {1}, 8}});
  const std::string description = model.describe();
  EXPECT_THAT(description, HasSubstr("fc2: Residual(h + relu("));
  EXPECT_THAT(description, HasSubstr("fc3: Residual(h + xtanh("));
}

// ---- Layer sequences and the fused passes ---------------------------------------------------

using Kinds = std::vector<std::string_view>;

TEST(ModelLayers, KindsFollowTheDescription) {
  EXPECT_EQ(Model<double>::layer_kinds(small_cnn()),
            (Kinds{"conv2d", "activation", "pool2d", "conv2d", "activation", "flatten", "linear",
                   "activation", "linear"}));
  EXPECT_EQ(Model<double>::layer_kinds(residual_fc_net()),
            (Kinds{"linear", "activation", "residual", "residual", "linear"}));
  ModelSpec images = residual_fc_net();
  images.input = {1, 3, 3};
  images.hidden = {8};
  images.activations = activations({"tanh"});
  EXPECT_EQ(Model<double>::layer_kinds(images),
            (Kinds{"flatten", "linear", "activation", "linear"}));
}

// The one-pass two-layer CNN runs exactly conv → activation → flatten → readout; one layer more
// (pooling, a hidden layer, a second conv) runs layer by layer, with each conv layer applying its
// activation sample by sample.
TEST(ModelLayers, OnlyTheTwoLayerCnnRunsInOnePass) {
  ModelSpec spec;
  spec.input = {2, 6, 6};
  spec.conv = {{3, 3, 1, 1, Pooling::none}};
  spec.activations = activations({"tanh"});
  EXPECT_TRUE(Model<double>(spec).fuses_step());
  ModelSpec pooled = spec;
  pooled.conv[0].pool = Pooling::avg2;
  EXPECT_FALSE(Model<double>(pooled).fuses_step());
  ModelSpec hidden = spec;
  hidden.hidden = {4};
  EXPECT_FALSE(Model<double>(hidden).fuses_step());
  ModelSpec two_conv = spec;
  two_conv.conv.push_back({3, 3, 1, 1, Pooling::none});
  EXPECT_FALSE(Model<double>(two_conv).fuses_step());
  ModelSpec fc;
  fc.input = {2, 6, 6};
  fc.hidden = {4};
  fc.activations = activations({"tanh"});
  EXPECT_FALSE(Model<double>(fc).fuses_step());
}

// ---- Impossible descriptions ----------------------------------------------------------------

std::string model_error(const ModelSpec& spec) {
  try {
    Model<double> model(spec);
  } catch (const InputError& error) {
    return error.what();
  }
  ADD_FAILURE() << "the description was accepted";
  return "";
}

TEST(ModelErrors, KernelLargerThanPaddedInput) {
  ModelSpec spec;
  spec.input = {1, 4, 6};
  spec.conv = {{2, 7, 1, 1, Pooling::none}};
  spec.activations = activations({"tanh"});
  EXPECT_THAT(model_error(spec),
              AllOf(HasSubstr("conv1"), HasSubstr("kernel 7"), HasSubstr("padded input 6x8")));
}

TEST(ModelErrors, StrideZero) {
  ModelSpec spec = small_cnn();
  spec.conv[1].stride = 0;
  EXPECT_THAT(model_error(spec),
              AllOf(HasSubstr("conv2"), HasSubstr("stride"), HasSubstr("got 0")));
}

TEST(ModelErrors, NegativePadding) {
  ModelSpec spec = small_cnn();
  spec.conv[0].padding = -1;
  EXPECT_THAT(model_error(spec), AllOf(HasSubstr("conv1"), HasSubstr("padding"), HasSubstr("-1")));
}

TEST(ModelErrors, ZeroChannels) {
  ModelSpec spec = small_cnn();
  spec.conv[1].channels = 0;
  EXPECT_THAT(model_error(spec),
              AllOf(HasSubstr("conv2"), HasSubstr("channels"), HasSubstr("got 0")));
  spec = small_cnn();
  spec.input.channels = 0;
  EXPECT_THAT(model_error(spec), HasSubstr("(0, 16, 16)"));
}

TEST(ModelErrors, ZeroWidth) {
  ModelSpec spec = residual_fc_net();
  spec.residual = false;
  spec.hidden = {8, 0, 8};
  EXPECT_THAT(model_error(spec), AllOf(HasSubstr("fc2"), HasSubstr("width"), HasSubstr("got 0")));
  spec.hidden = {8, 8, 8};
  spec.outputs = 0;
  EXPECT_THAT(model_error(spec), AllOf(HasSubstr("outputs"), HasSubstr("got 0")));
}

TEST(ModelErrors, MismatchedResidualWidths) {
  ModelSpec spec = residual_fc_net();
  spec.hidden = {8, 8, 6};
  EXPECT_THAT(model_error(spec), AllOf(HasSubstr("fc3"), HasSubstr("equal widths"),
                                       HasSubstr("8 features"), HasSubstr("width is 6")));
}

TEST(ModelErrors, PoolingLargerThanItsInput) {
  ModelSpec spec;
  spec.input = {1, 3, 3};
  spec.conv = {{2, 3, 1, 0, Pooling::avg2}};  // conv output 1×1
  spec.activations = activations({"tanh"});
  EXPECT_THAT(model_error(spec), AllOf(HasSubstr("pool1"), HasSubstr("1x1")));
}

TEST(ModelErrors, UnknownActivationName) {
  try {
    parse_activation("swish");
    ADD_FAILURE() << "\"swish\" was accepted";
  } catch (const InputError& error) {
    EXPECT_THAT(error.what(), AllOf(HasSubstr("\"swish\""), HasSubstr("silu")));
  }
}

TEST(ModelErrors, WrongNumberOfActivations) {
  ModelSpec spec = small_cnn();  // 2 conv + 1 hidden layer
  spec.activations = activations({"tanh", "relu"});
  EXPECT_THAT(model_error(spec), AllOf(HasSubstr("2 names"), HasSubstr("3 conv and hidden")));
  spec.activations.clear();
  EXPECT_THAT(model_error(spec), HasSubstr("0 names"));
}

// ---- Initialization -------------------------------------------------------------------------

InitConfig normal_init(double std) {
  InitConfig init;
  init.all.std = std;
  return init;
}

template <class T>
std::vector<T> initialized_values(const ModelSpec& spec, const InitConfig& init,
                                  std::uint64_t seed) {
  Model<T> model(spec);
  initialize(model.parameters(), init, seed);
  const auto& values = model.parameters().values();
  return std::vector<T>(values.data(), values.data() + values.size());
}

TEST(ModelInit, SameSeedGivesBitIdenticalWeights) {
  const auto a = initialized_values<double>(small_cnn(), normal_init(0.1), 7);
  const auto b = initialized_values<double>(small_cnn(), normal_init(0.1), 7);
  ASSERT_EQ(a.size(), b.size());
  EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size() * sizeof(double)), 0);
  const auto c = initialized_values<double>(small_cnn(), normal_init(0.1), 8);
  EXPECT_NE(a, c);
}

TEST(ModelInit, FloatWeightsAreTheDoubleDrawsRounded) {
  const auto d = initialized_values<double>(small_cnn(), normal_init(0.1), 7);
  const auto f = initialized_values<float>(small_cnn(), normal_init(0.1), 7);
  ASSERT_EQ(d.size(), f.size());
  for (std::size_t i = 0; i < d.size(); ++i) ASSERT_EQ(f[i], float(d[i])) << i;
}

TEST(ModelInit, AnOverrideDoesNotShiftTheOtherLayersDraws) {
  InitConfig init = normal_init(0.1);
  init.layers["conv2"].scheme = InitScheme::kaiming_normal;
  Model<double> plain(small_cnn()), overridden(small_cnn());
  initialize(plain.parameters(), normal_init(0.1), 7);
  initialize(overridden.parameters(), init, 7);
  for (int id = 0; id < plain.parameters().count(); ++id) {
    const ParameterInfo& info = plain.parameters().info(id);
    const bool same = std::memcmp(plain.parameters().value(id), overridden.parameters().value(id),
                                  info.size * sizeof(double)) == 0;
    EXPECT_EQ(same, info.layer != "conv2") << info.name;
  }
}

struct Moments {
  double mean = 0, std = 0, kurtosis = 0, largest = 0;
};

Moments moments(const double* values, std::size_t n) {
  Moments m;
  for (std::size_t i = 0; i < n; ++i) m.mean += values[i];
  m.mean /= double(n);
  double m2 = 0, m4 = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double d = values[i] - m.mean;
    m2 += d * d;
    m4 += d * d * d * d;
    m.largest = std::max(m.largest, std::abs(values[i]));
  }
  m2 /= double(n);
  m4 /= double(n);
  m.std = std::sqrt(m2);
  m.kurtosis = m4 / (m2 * m2);
  return m;
}

// An FC net with large tensors for statistics: fc1.weight (500, 400), fc2.weight (300, 500), and a
// conv layer's weight (64, 8, 5, 5) for the fan-in of a convolution.
struct StatsModels {
  Model<double> fc;
  Model<double> cnn;
  StatsModels() : fc(fc_spec()), cnn(cnn_spec()) {}
  static ModelSpec fc_spec() {
    ModelSpec spec;
    spec.input = {400, 1, 1};
    spec.hidden = {500};
    spec.activations = activations({"tanh"});
    spec.outputs = 300;
    return spec;
  }
  static ModelSpec cnn_spec() {
    ModelSpec spec;
    spec.input = {8, 5, 5};
    spec.conv = {{64, 5, 1, 0, Pooling::none}};
    spec.activations = activations({"tanh"});
    return spec;
  }
};

// Checks every tensor of `store` against the standard deviation `expected_std(info)`, with a
// tolerance of 5 standard errors, and the shape of the distribution through its kurtosis.
void expect_statistics(const ParameterStore<double>& store, bool uniform,
                       const std::function<double(const ParameterInfo&)>& expected_std) {
  for (int id = 0; id < store.count(); ++id) {
    const ParameterInfo& info = store.info(id);
    SCOPED_TRACE(info.name);
    const double std = expected_std(info);
    const Moments m = moments(store.value(id), info.size);
    if (std == 0.0) {
      EXPECT_EQ(m.largest, 0.0);
      continue;
    }
    const double n = double(info.size);
    EXPECT_NEAR(m.mean, 0.0, 5 * std / std::sqrt(n));
    // The standard error of a sample std is σ/√(2n) for a normal and σ·√(0.2/n) for a uniform:
    // 5/√(2n) is at least 5 standard errors for both.
    EXPECT_NEAR(m.std / std, 1.0, 5 / std::sqrt(2 * n));
    if (info.size >= 10000) {
      EXPECT_NEAR(m.kurtosis, uniform ? 1.8 : 3.0, uniform ? 0.05 : 0.2);
    }
    if (uniform) {
      EXPECT_LE(m.largest, std * std::sqrt(3.0));
    }
  }
}

TEST(ModelInit, NormalWithAGivenStd) {
  StatsModels models;
  for (Model<double>* model : {&models.fc, &models.cnn}) {
    initialize(model->parameters(), normal_init(0.02), 3);
    // Biases follow the weights' N(0, σ²) (init.hpp).
    expect_statistics(model->parameters(), false, [](const ParameterInfo&) { return 0.02; });
  }
}

TEST(ModelInit, GammaGivesStdFanInToTheMinusGamma) {
  StatsModels models;
  InitConfig init;
  init.all.gamma = 0.7;
  for (Model<double>* model : {&models.fc, &models.cnn}) {
    initialize(model->parameters(), init, 3);
    expect_statistics(model->parameters(), false, [](const ParameterInfo& info) {
      return std::pow(double(info.fan_in), -0.7);
    });
  }
  // fc1's fan-in is 400, the conv layer's C·k² = 200.
  EXPECT_EQ(init.all.standard_deviation(400, 500), std::pow(400.0, -0.7));
  EXPECT_EQ(models.cnn.parameters().info(0).fan_in, 200);
}

// fan = "out": the hidden layer's std scales with its own width (Luo et al.'s β = m^(−γ/2)).
TEST(ModelInit, GammaCanCountTheFanOut) {
  StatsModels models;
  InitConfig init;
  init.all.gamma = 0.6;
  init.all.gamma_fan_out = true;
  initialize(models.fc.parameters(), init, 3);
  expect_statistics(models.fc.parameters(), false, [](const ParameterInfo& info) {
    return std::pow(double(info.fan_out), -0.6);
  });
  EXPECT_EQ(init.all.standard_deviation(400, 500), std::pow(500.0, -0.6));
  EXPECT_EQ(init.all.describe(), "normal std=fan_out^-0.6");
}

TEST(ModelInit, UniformHasTheGivenStd) {
  StatsModels models;
  InitConfig init;
  init.all.scheme = InitScheme::uniform;
  init.all.std = 0.05;
  initialize(models.fc.parameters(), init, 3);
  expect_statistics(models.fc.parameters(), true, [](const ParameterInfo&) { return 0.05; });
}

TEST(ModelInit, XavierAndKaimingFollowPyTorchAndZeroTheBiases) {
  StatsModels models;
  struct Case {
    InitScheme scheme;
    bool uniform;
    std::function<double(const ParameterInfo&)> std;
  };
  // PyTorch: xavier gain 1, std = √(2/(fan_in + fan_out)); kaiming gain √2, std = √(2/fan_in).
  const Case cases[] = {
      {InitScheme::xavier_normal, false,
       [](const ParameterInfo& i) { return std::sqrt(2.0 / (i.fan_in + i.fan_out)); }},
      {InitScheme::xavier_uniform, true,
       [](const ParameterInfo& i) { return std::sqrt(2.0 / (i.fan_in + i.fan_out)); }},
      {InitScheme::kaiming_normal, false,
       [](const ParameterInfo& i) { return std::sqrt(2.0 / i.fan_in); }},
      {InitScheme::kaiming_uniform, true,
       [](const ParameterInfo& i) { return std::sqrt(2.0 / i.fan_in); }},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(init_scheme_name(c.scheme));
    InitConfig init;
    init.all.scheme = c.scheme;
    for (Model<double>* model : {&models.fc, &models.cnn}) {
      initialize(model->parameters(), init, 3);
      expect_statistics(model->parameters(), c.uniform, [&](const ParameterInfo& info) {
        return info.is_bias ? 0.0 : c.std(info);
      });
    }
  }
  // The conv layer's fans are C·k² = 200 and M·k² = 1600.
  EXPECT_EQ(models.cnn.parameters().info(0).fan_out, 1600);
}

TEST(ModelInit, Zeros) {
  StatsModels models;
  InitConfig init;
  init.all.scheme = InitScheme::zeros;
  initialize(models.fc.parameters(), init, 3);
  EXPECT_EQ(models.fc.parameters().values().cwiseAbs().maxCoeff(), 0.0);
}

TEST(ModelInit, PerLayerOverrides) {
  StatsModels models;
  InitConfig init = normal_init(1e-3);
  init.layers["fc2"].scheme = InitScheme::kaiming_normal;
  initialize(models.fc.parameters(), init, 3);
  expect_statistics(models.fc.parameters(), false, [](const ParameterInfo& info) {
    if (info.layer == "fc1") return 1e-3;
    return info.is_bias ? 0.0 : std::sqrt(2.0 / 500);
  });
}

TEST(ModelInit, Errors) {
  Model<double> model(residual_fc_net());
  InitConfig init;  // normal without std or gamma
  try {
    initialize(model.parameters(), init, 1);
    ADD_FAILURE() << "normal init without std was accepted";
  } catch (const InputError& error) {
    EXPECT_THAT(error.what(), AllOf(HasSubstr("init.std"), HasSubstr("init.gamma")));
  }
  init.all.std = -1.0;
  EXPECT_THROW(initialize(model.parameters(), init, 1), InputError);
  try {
    parse_init_scheme("he");
    ADD_FAILURE() << "\"he\" was accepted";
  } catch (const InputError& error) {
    EXPECT_THAT(error.what(), AllOf(HasSubstr("\"he\""), HasSubstr("kaiming-normal")));
  }
  EXPECT_EQ(parse_init_scheme("xavier-uniform"), InitScheme::xavier_uniform);
}

// ---- Training is bit-identical with 1 and 2 threads -------------------------------------------

struct TrainingTrace {
  std::vector<double> losses;
  std::vector<double> weights;
};

// A CNN with every layer type: conv, max and average pooling, hidden FC layer, readout.
ModelSpec deep_cnn() {
  ModelSpec spec;
  spec.input = {2, 10, 10};
  spec.conv = {{6, 3, 1, 1, Pooling::max2}, {5, 3, 1, 1, Pooling::avg2}};
  spec.hidden = {70};  // more than one row tile of linear.cpp's dW
  spec.activations = activations({"relu", "tanh", "silu"});
  spec.outputs = 3;
  return spec;
}

// The two-layer CNN of docs/science.md §2.1, which the model runs as one fused pass
// (conv_readout.hpp).
ModelSpec two_layer_cnn() {
  ModelSpec spec;
  spec.input = {2, 10, 10};
  spec.conv = {{6, 3, 2, 1, Pooling::none}};
  spec.activations = activations({"tanh"});
  spec.outputs = 3;
  return spec;
}

// The same at stride 1 with one output: the direct convolution (no patch matrix), positions
// left over at the ends of output rows (20 = 2·8 + 4 in float32, 5·4 in float64), and the
// single-output backward sweep (conv_readout.cpp).
ModelSpec two_layer_cnn_stride_one() {
  ModelSpec spec;
  spec.input = {3, 11, 18};
  spec.conv = {{7, 3, 1, 1, Pooling::none}};
  spec.activations = activations({"tanh"});
  spec.outputs = 1;
  return spec;
}

struct TrainingRun {
  int threads = 1;
  int later_threads = 0;  // from the third step on, when set (caches are sized at the first batch)
  int input_shift = 0;    // the batch starts this many elements into its buffer
};

// Five full-batch steps from a fixed initialization on 40 samples (10 of Conv2d's 4-sample
// chunks, 5 of the fused pass's 8-sample chunks, 2 of linear.cpp's 32-row blocks).
template <class T>
TrainingTrace train(const ModelSpec& spec, OptimizerKind kind, LossKind loss,
                    const TrainingRun& run) {
  set_thread_count(run.threads);
  Model<T> model(spec);
  InitConfig init;
  init.all.gamma = 0.5;
  initialize(model.parameters(), init, 11);

  const int N = 40;
  Rng rng(12);
  std::vector<T> buffer(std::size_t(N * spec.input.size() + run.input_shift));
  std::vector<T> values(std::size_t(N * spec.outputs));
  std::vector<int> labels(static_cast<std::size_t>(N));
  T* x = buffer.data() + run.input_shift;
  for (std::int64_t i = 0; i < N * spec.input.size(); ++i) x[i] = T(rng.normal());
  for (T& v : values) v = T(rng.normal());
  for (int& label : labels) label = int(rng.below(std::uint64_t(spec.outputs)));
  Batch<T> batch;
  batch.inputs = x;
  batch.size = N;
  batch.targets = loss == LossKind::mse ? Targets<T>{values.data(), nullptr}
                                        : Targets<T>{nullptr, labels.data()};
  OptimizerSpec optimizer_spec;
  optimizer_spec.kind = kind;
  optimizer_spec.lr = kind == OptimizerKind::adam ? 1e-2 : 0.1;
  optimizer_spec.momentum = kind == OptimizerKind::sgd ? 0.9 : 0.0;
  Optimizer<T> optimizer(optimizer_spec, model.parameters().size());
  TrainingTrace trace;
  for (int step = 0; step < 5; ++step) {
    if (step == 2 && run.later_threads > 0) set_thread_count(run.later_threads);
    trace.losses.push_back(train_step(model, optimizer, loss, batch).loss);
    batch.same_as_previous = true;
  }
  const auto& w = model.parameters().values();
  trace.weights.assign(w.data(), w.data() + w.size());
  return trace;
}

class ThreadCount : public ::testing::Test {
 protected:
  void SetUp() override { threads_ = thread_count(); }
  void TearDown() override { set_thread_count(threads_); }
  int threads_ = 1;
};

void expect_same_bits(const TrainingTrace& a, const TrainingTrace& b, const std::string& what) {
  ASSERT_EQ(a.weights.size(), b.weights.size());
  EXPECT_EQ(std::memcmp(a.losses.data(), b.losses.data(), a.losses.size() * sizeof(double)), 0)
      << what;
  EXPECT_EQ(std::memcmp(a.weights.data(), b.weights.data(), a.weights.size() * sizeof(double)), 0)
      << what;
}

template <class T>
void expect_same_training(const ModelSpec& spec, OptimizerKind kind, LossKind loss) {
  const TrainingTrace one = train<T>(spec, kind, loss, {1});
  EXPECT_LT(one.losses.back(), one.losses.front());  // it trains
  expect_same_bits(one, train<T>(spec, kind, loss, {2}), "2 threads");
  ASSERT_EQ(thread_count(), 2);
  expect_same_bits(one, train<T>(spec, kind, loss, {1, 2}), "threads added after two steps");
  for (int shift = 1; shift < 4; ++shift)
    expect_same_bits(one, train<T>(spec, kind, loss, {2, 0, shift}),
                     "input shifted by " + std::to_string(shift));
}

TEST_F(ThreadCount, AdamTrainingIsBitIdenticalWithOneAndTwoThreads) {
  expect_same_training<double>(deep_cnn(), OptimizerKind::adam, LossKind::cross_entropy);
}

TEST_F(ThreadCount, FloatSgdTrainingIsBitIdenticalWithOneAndTwoThreads) {
  expect_same_training<float>(deep_cnn(), OptimizerKind::sgd, LossKind::mse);
}

TEST_F(ThreadCount, TwoLayerCnnTrainingIsBitIdenticalWithOneAndTwoThreads) {
  expect_same_training<double>(two_layer_cnn(), OptimizerKind::adam, LossKind::mse);
  expect_same_training<float>(two_layer_cnn(), OptimizerKind::gd, LossKind::cross_entropy);
  expect_same_training<float>(two_layer_cnn_stride_one(), OptimizerKind::adam, LossKind::mse);
  expect_same_training<double>(two_layer_cnn_stride_one(), OptimizerKind::adam, LossKind::mse);
}

// Runs one layer forward and backward with its buffers (x, y, dy, dx) starting `shift` elements
// into larger ones, and returns y, dx and the parameter gradients, concatenated.
template <class T>
std::vector<T> layer_results(Layer<T>& layer, ParameterStore<T>& store, int N, int shift) {
  const std::size_t in = std::size_t(N * layer.input_shape().size());
  const std::size_t out = std::size_t(N * layer.output_shape().size());
  std::vector<T> x(in + 8), y(out + 8), dy(out + 8), dx(in + 8);
  Rng rng(9);
  for (std::size_t i = 0; i < in; ++i) x[std::size_t(shift) + i] = T(rng.normal());
  for (std::size_t i = 0; i < out; ++i) dy[std::size_t(shift) + i] = T(rng.normal());
  store.zero_grad();
  layer.reserve(N);
  layer.forward(store, x.data() + shift, y.data() + shift, N, false);
  layer.backward(store, x.data() + shift, y.data() + shift, dy.data() + shift, dx.data() + shift,
                 N);
  std::vector<T> results(y.begin() + shift, y.begin() + shift + std::ptrdiff_t(out));
  results.insert(results.end(), dx.begin() + shift, dx.begin() + shift + std::ptrdiff_t(in));
  results.insert(results.end(), store.grads().data(), store.grads().data() + store.size());
  return results;
}

// Eigen splits some loops at the first aligned element, so that a sum's rounding can depend on
// where its buffer sits in memory: on the heap's state, and on which thread's scratch slot is
// used. Every layer must give the same bits wherever its buffers are.
template <class T>
void expect_independent_of_addresses(Layer<T>& layer, int N) {
  ParameterStore<T> store;
  layer.declare(store);
  store.allocate();
  Rng rng(8);
  for (Eigen::Index i = 0; i < store.values().size(); ++i) store.values()[i] = T(rng.normal());
  set_thread_count(1);
  const std::vector<T> reference = layer_results(layer, store, N, 0);
  for (int threads : {1, 2}) {
    set_thread_count(threads);
    for (int shift = 0; shift < 8; ++shift) {
      const std::vector<T> shifted = layer_results(layer, store, N, shift);
      ASSERT_EQ(shifted.size(), reference.size());
      EXPECT_EQ(std::memcmp(shifted.data(), reference.data(), reference.size() * sizeof(T)), 0)
          << layer.describe() << ": " << threads << " threads, buffers shifted by " << shift;
    }
  }
}

template <class T>
void expect_layers_independent_of_addresses() {
  const Activation tanh = parse_activation("tanh");
  {  // small enough for Eigen's coefficient-based products
    Conv2d<T> layer("conv1", {1, 5, 4}, 2, 3, 2, 1, true);
    expect_independent_of_addresses(layer, 9);
  }
  {  // one output position: matrix-vector products
    Conv2d<T> layer("conv1", {2, 5, 5}, 6, 5, 1, 0, true);
    expect_independent_of_addresses(layer, 9);
  }
  {
    Conv2d<T> layer("conv1", {3, 9, 11}, 7, 3, 1, 1, true);
    expect_independent_of_addresses(layer, 9);
  }
  {
    Linear<T> layer("fc1", {3, 1, 1}, 2, true);
    expect_independent_of_addresses(layer, 5);
  }
  {  // the readout of the 5-50-1 net of docs/science.md §3.5
    Linear<T> layer("fc2", {50, 1, 1}, 1, true);
    expect_independent_of_addresses(layer, 80);
  }
  {
    Linear<T> layer("fc1", {5, 1, 1}, 50, true);
    expect_independent_of_addresses(layer, 1);
  }
  {
    Linear<T> layer("fc1", {37, 1, 1}, 70, true);
    expect_independent_of_addresses(layer, 41);
  }
  {
    ResidualBlock<T> layer("fc2", {13, 1, 1}, 13, tanh, true);
    expect_independent_of_addresses(layer, 7);
  }
  {
    Pool2d<T> layer("pool1", {3, 7, 9}, PoolKind::max, 3, 2);
    expect_independent_of_addresses(layer, 5);
  }
  {
    Pool2d<T> layer("pool1", {3, 7, 9}, PoolKind::average, 2, 2);
    expect_independent_of_addresses(layer, 5);
  }
  {
    ActivationLayer<T> layer("act1", {3, 7, 9}, tanh);
    expect_independent_of_addresses(layer, 5);
  }
}

TEST_F(ThreadCount, LayersGiveTheSameBitsWhereverTheirBuffersAre) {
  expect_layers_independent_of_addresses<double>();
  expect_layers_independent_of_addresses<float>();
}

// ---- Weights as NPY files -------------------------------------------------------------------

class WeightFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    directory_ = std::filesystem::temp_directory_path() /
                 ("condense_test_model_" + std::to_string(::getpid()) + "_" +
                  ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(directory_);
  }
  void TearDown() override { std::filesystem::remove_all(directory_); }
  std::filesystem::path directory_;
};

std::string load_error(ParameterStore<double>& store, const std::filesystem::path& directory) {
  try {
    load_weights(store, directory);
  } catch (const InputError& error) {
    return error.what();
  }
  ADD_FAILURE() << "the weights were loaded";
  return "";
}

TEST_F(WeightFiles, RoundTripIsExact) {
  Model<double> saved(small_cnn()), loaded(small_cnn());
  initialize(saved.parameters(), normal_init(0.1), 1);
  initialize(loaded.parameters(), normal_init(0.1), 2);
  save_weights(saved.parameters(), directory_);
  for (const ParameterInfo& info : saved.parameters().info()) {
    const NpyArray array = read_npy(directory_ / (info.name + ".npy"));
    EXPECT_EQ(array.type, NpyType::float64) << info.name;
    EXPECT_EQ(array.shape, info.shape) << info.name;
  }
  load_weights(loaded.parameters(), directory_);
  EXPECT_EQ(saved.parameters().values(), loaded.parameters().values());
}

TEST_F(WeightFiles, FloatModelsWriteFloat32) {
  Model<float> saved(small_cnn());
  initialize(saved.parameters(), normal_init(0.1), 1);
  save_weights(saved.parameters(), directory_);
  EXPECT_EQ(read_npy(directory_ / "conv1.weight.npy").type, NpyType::float32);
  Model<double> widened(small_cnn());
  load_weights(widened.parameters(), directory_);
  EXPECT_EQ(widened.parameters().values(), saved.parameters().values().cast<double>());
}

TEST_F(WeightFiles, MissingFileNamesThePathAndTheTensor) {
  Model<double> model(small_cnn());
  save_weights(model.parameters(), directory_);
  std::filesystem::remove(directory_ / "fc1.bias.npy");
  EXPECT_THAT(load_error(model.parameters(), directory_),
              AllOf(HasSubstr((directory_ / "fc1.bias.npy").string()), HasSubstr("missing"),
                    HasSubstr("(32,)")));
  EXPECT_THAT(load_error(model.parameters(), directory_ / "nowhere"), HasSubstr("missing"));
}

TEST_F(WeightFiles, WrongShapeNamesBothShapes) {
  Model<double> model(small_cnn());
  save_weights(model.parameters(), directory_);
  const std::vector<double> wrong(8 * 3 * 3 * 3, 0.5);
  write_npy(directory_ / "conv1.weight.npy", wrong.data(), {8, 3, 3, 3});
  EXPECT_THAT(
      load_error(model.parameters(), directory_),
      AllOf(HasSubstr("conv1.weight.npy"), HasSubstr("(8, 3, 3, 3)"), HasSubstr("(8, 3, 5, 5)")));
}

TEST_F(WeightFiles, IntegerWeightsAreRejected) {
  Model<double> model(residual_fc_net());
  save_weights(model.parameters(), directory_);
  const std::vector<std::int64_t> integers(8, 1);
  write_npy(directory_ / "fc1.bias.npy", integers.data(), {8});
  EXPECT_THAT(load_error(model.parameters(), directory_),
              AllOf(HasSubstr("fc1.bias.npy"), HasSubstr("int64")));
}

// ---- Divergence -----------------------------------------------------------------------------

TEST(TrainStep, DivergenceNamesTheStep) {
  Model<double> model(residual_fc_net());
  initialize(model.parameters(), normal_init(0.5), 1);
  const int N = 8;
  Rng rng(2);
  std::vector<double> x(std::size_t{N} * 5), y(std::size_t{N});
  for (double& v : x) v = rng.normal();
  for (double& v : y) v = rng.normal();
  Batch<double> batch{x.data(), {y.data(), nullptr}, N, false};
  OptimizerSpec spec;
  spec.lr = 1e30;  // gd
  Optimizer<double> optimizer(spec, model.parameters().size());
  try {
    for (int step = 0; step < 100; ++step) train_step(model, optimizer, LossKind::mse, batch);
    ADD_FAILURE() << "training with lr 1e30 did not diverge";
  } catch (const DivergenceError& error) {
    EXPECT_GE(error.step(), 1);
    EXPECT_EQ(error.step(), optimizer.steps_taken());  // thrown before the update
    EXPECT_THAT(error.what(), HasSubstr("step " + std::to_string(error.step())));
  }
}

TEST(TrainStep, NonFiniteInputDivergesAtStepZero) {
  Model<double> model(residual_fc_net());
  initialize(model.parameters(), normal_init(0.5), 1);
  std::vector<double> x(5, 1.0), y(1, 0.0);
  x[2] = std::numeric_limits<double>::quiet_NaN();
  Batch<double> batch{x.data(), {y.data(), nullptr}, 1, false};
  OptimizerSpec spec;
  Optimizer<double> optimizer(spec, model.parameters().size());
  const Vector<double> before = model.parameters().values();
  try {
    train_step(model, optimizer, LossKind::mse, batch);
    ADD_FAILURE() << "a NaN input did not stop training";
  } catch (const DivergenceError& error) {
    EXPECT_EQ(error.step(), 0);
    EXPECT_THAT(error.what(), HasSubstr("step 0"));
  }
  EXPECT_EQ(model.parameters().values(), before);  // no update from a diverged step
}

}  // namespace
}  // namespace condense
