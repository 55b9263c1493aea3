// Parity with PyTorch through the committed fixtures of tests/fixtures/ (make_fixtures.py).
//
// For every case: the outputs, the loss and every parameter gradient at the initial weights, and
// for every optimizer the loss of each step and the parameters after the fixture's steps. Each
// tensor is compared by its relative error ||a − b|| / max(||b||, tiny) against the float64
// PyTorch reference: ≤ 1e-10 for condense in float64, ≤ 1e-4 in float32.
//
// To add a case: add it to CASES in make_fixtures.py, bump GENERATOR_VERSION there and
// kFixtureGeneratorVersion in fixture_file.hpp, regenerate, and list its name in kCases below.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "condense/core/types.hpp"
#include "condense/nn/model.hpp"
#include "condense/nn/model_spec.hpp"
#include "condense/train/loss.hpp"
#include "condense/train/optimizer.hpp"
#include "condense/train/step.hpp"
#include "fixture_file.hpp"

namespace {

using condense::Dtype;
using condense::fixtures::FixtureFile;
using condense::fixtures::StaleFixtureError;
using json = nlohmann::json;

const std::vector<std::string> kCases = {"cnn2_k3", "cnn2_k5", "cnn3", "resfc6", "fc_acts"};
const std::vector<std::string> kOptimizers = {"gd", "sgd_nesterov_step", "sgd_momentum_wd",
                                              "adam_wd_cosine"};

double tolerance(Dtype dtype) {
  return dtype == Dtype::float64 ? 1e-10 : 1e-4;
}

std::filesystem::path fixture_path(const std::string& case_name) {
  return std::filesystem::path(CONDENSE_SOURCE_DIR) / "tests" / "fixtures" /
         (case_name + ".fixture");
}

// ---- The case description (the fixture's JSON) → condense's specs.

condense::ModelSpec model_spec_from_json(const json& model) {
  condense::ModelSpec spec;
  const auto input = model.at("input").get<std::vector<int>>();
  if (input.size() != 3) throw std::runtime_error("model.input must be [C, H, W]");
  spec.input = {input[0], input[1], input[2]};
  for (const json& c : model.at("conv"))
    spec.conv.push_back({c.at("channels").get<int>(), c.at("kernel").get<int>(),
                         c.at("stride").get<int>(), c.at("padding").get<int>(),
                         condense::parse_pooling(c.at("pool").get<std::string>())});
  spec.hidden = model.at("hidden").get<std::vector<int>>();
  for (const json& a : model.at("activations"))
    spec.activations.push_back(condense::parse_activation(a.get<std::string>()));
  spec.bias = model.at("bias").get<bool>();
  spec.residual = model.at("residual").get<bool>();
  spec.outputs = model.at("outputs").get<int>();
  return spec;
}

condense::OptimizerSpec optimizer_spec_from_json(const json& options) {
  condense::OptimizerSpec spec;
  spec.kind = condense::parse_optimizer(options.at("kind").get<std::string>());
  spec.lr = options.at("lr").get<double>();
  spec.momentum = options.value("momentum", 0.0);
  spec.dampening = options.value("dampening", 0.0);
  spec.nesterov = options.value("nesterov", false);
  if (options.contains("betas")) {
    spec.beta1 = options.at("betas").at(0).get<double>();
    spec.beta2 = options.at("betas").at(1).get<double>();
  }
  spec.eps = options.value("eps", spec.eps);
  spec.weight_decay = options.value("weight_decay", 0.0);
  const json& schedule = options.at("schedule");
  spec.schedule.kind = condense::parse_schedule(schedule.at("kind").get<std::string>());
  spec.schedule.step_size = schedule.value("step_size", spec.schedule.step_size);
  spec.schedule.factor = schedule.value("factor", spec.schedule.factor);
  spec.schedule.total_steps = schedule.value("total_steps", spec.schedule.total_steps);
  spec.schedule.min_lr = schedule.value("min_lr", spec.schedule.min_lr);
  return spec;
}

struct ParityCase {
  FixtureFile file;
  json description;
  condense::ModelSpec spec;
  condense::LossKind loss = condense::LossKind::mse;
  int samples = 0;
  int steps = 0;
  std::vector<std::string> parameters;  // PyTorch's names, in PyTorch's order
};

// Each fixture is read once per process. Returns null (with the reason) when it cannot be used.
const ParityCase* load_case(const std::string& name, std::string& error) {
  static std::map<std::string, std::unique_ptr<ParityCase>> cache;
  static std::map<std::string, std::string> errors;
  if (auto it = cache.find(name); it != cache.end()) return it->second.get();
  if (auto it = errors.find(name); it != errors.end()) {
    error = it->second;
    return nullptr;
  }
  try {
    auto c = std::make_unique<ParityCase>();
    c->file = FixtureFile::read(fixture_path(name));
    c->description = json::parse(c->file.text("case"));
    c->spec = model_spec_from_json(c->description.at("model"));
    c->loss = condense::parse_loss(c->description.at("loss").get<std::string>());
    c->samples = c->description.at("samples").get<int>();
    c->steps = c->description.at("steps").get<int>();
    c->parameters = c->description.at("parameters").get<std::vector<std::string>>();
    return (cache[name] = std::move(c)).get();
  } catch (const std::exception& e) {
    error = errors[name] = e.what();
    return nullptr;
  }
}

// ---- Scale-aware comparison (docs/conventions.md, "Tests"): ||a − b|| / max(||b||, tiny), per
// tensor.

template <class T>
double relative_error(const T* a, const std::vector<double>& b) {
  double diff = 0.0, norm = 0.0;
  for (std::size_t i = 0; i < b.size(); ++i) {
    const double d = double(a[i]) - b[i];
    diff += d * d;
    norm += b[i] * b[i];
  }
  return std::sqrt(diff) / std::max(std::sqrt(norm), std::numeric_limits<double>::min());
}

// The largest relative error seen per dtype and kind of quantity, reported at the end of the run.
struct WorstError {
  double error = 0.0;
  std::string where;
};
using WorstKey = std::pair<Dtype, std::string>;  // (dtype, "outputs" / "gradients" / ...)
std::map<WorstKey, WorstError>& worst_errors() {
  static std::map<WorstKey, WorstError> worst;
  return worst;
}

class ParityReport : public ::testing::Environment {
 public:
  void TearDown() override {
    for (const auto& [key, worst] : worst_errors())
      std::cout << fmt::format(
          "[parity] {} {:<12} largest relative error {:.2e} (tolerance {:g}) "
          "in {}\n",
          condense::dtype_name(key.first), key.second, worst.error, tolerance(key.first),
          worst.where);
  }
};
[[maybe_unused]] ::testing::Environment* const kParityReport =
    ::testing::AddGlobalTestEnvironment(new ParityReport);

// Checks one tensor against the reference and records its error under `kind`.
template <class T>
void expect_close(const T* actual, const std::vector<double>& expected, Dtype dtype,
                  const std::string& kind, const std::string& where) {
  const double error = relative_error(actual, expected);
  WorstError& worst = worst_errors()[{dtype, kind}];
  if (!(error <= worst.error)) worst = {error, where};
  EXPECT_LE(error, tolerance(dtype)) << where << ": relative error " << error;
}

// ---- Running condense on a case.

template <class T>
std::vector<T> converted(const std::vector<double>& values) {
  return std::vector<T>(values.begin(), values.end());
}

// The batch of a case in type T; owns the converted data.
template <class T>
struct CaseData {
  std::vector<T> inputs, targets;
  std::vector<int> labels;

  explicit CaseData(const ParityCase& c) : inputs(converted<T>(c.file.values("inputs"))) {
    if (c.loss == condense::LossKind::cross_entropy) {
      for (auto label : c.file.integers("labels")) labels.push_back(int(label));
    } else {
      targets = converted<T>(c.file.values("targets"));
    }
  }
  condense::Targets<T> view() const {
    condense::Targets<T> t;
    if (!labels.empty())
      t.labels = labels.data();
    else
      t.values = targets.data();
    return t;
  }
};

// Checks that condense declares PyTorch's parameters (names, order, shapes), then loads the
// initial values.
template <class T>
void load_initial_parameters(condense::Model<T>& model, const ParityCase& c) {
  auto& store = model.parameters();
  std::vector<std::string> names;
  for (const auto& info : store.info()) names.push_back(info.name);
  ASSERT_EQ(names, c.parameters) << "condense's parameters differ from PyTorch's";
  for (int id = 0; id < store.count(); ++id) {
    const auto& info = store.info(id);
    const std::string entry = "initial/" + info.name;
    ASSERT_EQ(info.shape, c.file.shape(entry)) << info.name << ": shape differs from PyTorch's";
    const auto& values = c.file.values(entry);
    std::copy(values.begin(), values.end(), store.value(id));
  }
}

template <class T>
void check_outputs_and_gradients(const ParityCase& c, Dtype dtype, const std::string& label) {
  condense::Model<T> model(c.spec);
  ASSERT_NO_FATAL_FAILURE(load_initial_parameters(model, c));
  const CaseData<T> data(c);
  const int N = c.samples, K = model.outputs();
  ASSERT_EQ(c.file.shape("inputs").at(0), N);

  const T* f = model.forward(data.inputs.data(), N);
  expect_close(f, c.file.values("outputs"), dtype, "outputs", label + " outputs");
  std::vector<T> df(std::size_t(N) * K);
  const double loss = condense::loss_and_gradient(c.loss, f, data.view(), N, K, df.data());
  expect_close(&loss, c.file.values("loss"), dtype, "loss", label + " loss");

  model.parameters().zero_grad();
  model.backward(df.data());
  const auto& store = model.parameters();
  for (int id = 0; id < store.count(); ++id) {
    const std::string& name = store.info(id).name;
    expect_close(store.grad(id), c.file.values("grad/" + name), dtype, "gradients",
                 fmt::format("{} grad {}", label, name));
  }
}

template <class T>
void check_training(const ParityCase& c, const std::string& optimizer, Dtype dtype,
                    const std::string& label) {
  const json* options = nullptr;
  for (const json& o : c.description.at("optimizers"))
    if (o.at("name") == optimizer) options = &o;
  ASSERT_NE(options, nullptr) << c.file.path() << " has no optimizer " << optimizer;

  condense::Model<T> model(c.spec);
  ASSERT_NO_FATAL_FAILURE(load_initial_parameters(model, c));
  const CaseData<T> data(c);
  condense::Optimizer<T> engine(optimizer_spec_from_json(*options), model.parameters().size());
  const auto& expected_losses = c.file.values(optimizer + "/losses");
  ASSERT_EQ(int(expected_losses.size()), c.steps);
  for (int step = 0; step < c.steps; ++step) {
    condense::Batch<T> batch;
    batch.inputs = data.inputs.data();
    batch.targets = data.view();
    batch.size = c.samples;
    batch.same_as_previous = step > 0;  // full batch: the first layer's patches are kept
    const condense::StepResult result = condense::train_step(model, engine, c.loss, batch);
    expect_close(&result.loss, {expected_losses[std::size_t(step)]}, dtype, "step losses",
                 fmt::format("{} loss of step {}", label, step));
  }
  const auto& store = model.parameters();
  for (int id = 0; id < store.count(); ++id) {
    const std::string& name = store.info(id).name;
    expect_close(store.value(id), c.file.values(optimizer + "/" + name), dtype, "parameters",
                 fmt::format("{} {} after {} steps", label, name, c.steps));
  }
}

// ---- Parameterized tests: one per case and dtype, and one per case, optimizer and dtype.

struct GradientParam {
  std::string case_name;
  Dtype dtype;
};

struct TrainingParam {
  std::string case_name;
  std::string optimizer;
  Dtype dtype;
};

// gtest names a failing parameter with these instead of its bytes.
void PrintTo(const GradientParam& p, std::ostream* os) {
  *os << p.case_name << " " << condense::dtype_name(p.dtype);
}
void PrintTo(const TrainingParam& p, std::ostream* os) {
  *os << p.case_name << " " << p.optimizer << " " << condense::dtype_name(p.dtype);
}

class ParityGradients : public ::testing::TestWithParam<GradientParam> {};
class ParityTraining : public ::testing::TestWithParam<TrainingParam> {};

TEST_P(ParityGradients, OutputsLossAndGradients) {
  const auto& p = GetParam();
  std::string error;
  const ParityCase* c = load_case(p.case_name, error);
  ASSERT_NE(c, nullptr) << error;
  const std::string label = fmt::format("{} {}", p.case_name, condense::dtype_name(p.dtype));
  if (p.dtype == Dtype::float64)
    check_outputs_and_gradients<double>(*c, p.dtype, label);
  else
    check_outputs_and_gradients<float>(*c, p.dtype, label);
}

TEST_P(ParityTraining, ParametersAfterSteps) {
  const auto& p = GetParam();
  std::string error;
  const ParityCase* c = load_case(p.case_name, error);
  ASSERT_NE(c, nullptr) << error;
  const std::string label =
      fmt::format("{} {} {}", p.case_name, p.optimizer, condense::dtype_name(p.dtype));
  if (p.dtype == Dtype::float64)
    check_training<double>(*c, p.optimizer, p.dtype, label);
  else
    check_training<float>(*c, p.optimizer, p.dtype, label);
}

std::vector<GradientParam> gradient_params() {
  std::vector<GradientParam> params;
  for (const auto& c : kCases)
    for (Dtype dtype : {Dtype::float64, Dtype::float32}) params.push_back({c, dtype});
  return params;
}

std::vector<TrainingParam> training_params() {
  std::vector<TrainingParam> params;
  for (const auto& c : kCases)
    for (const auto& o : kOptimizers)
      for (Dtype dtype : {Dtype::float64, Dtype::float32}) params.push_back({c, o, dtype});
  return params;
}

INSTANTIATE_TEST_SUITE_P(Cases, ParityGradients, ::testing::ValuesIn(gradient_params()),
                         [](const ::testing::TestParamInfo<GradientParam>& test) {
                           return test.param.case_name + "_" +
                                  condense::dtype_name(test.param.dtype);
                         });

INSTANTIATE_TEST_SUITE_P(Cases, ParityTraining, ::testing::ValuesIn(training_params()),
                         [](const ::testing::TestParamInfo<TrainingParam>& test) {
                           return test.param.case_name + "_" + test.param.optimizer + "_" +
                                  condense::dtype_name(test.param.dtype);
                         });

// Every committed fixture is used by a test above.
TEST(ParityFixtures, EveryFixtureIsTested) {
  for (const auto& entry : std::filesystem::directory_iterator(fixture_path("x").parent_path())) {
    if (entry.path().extension() != ".fixture") continue;
    const std::string stem = entry.path().stem().string();
    EXPECT_NE(std::find(kCases.begin(), kCases.end(), stem), kCases.end())
        << entry.path() << " is not listed in kCases of test_parity.cpp";
  }
}

// Every optimizer a fixture holds is tested.
TEST(ParityFixtures, EveryOptimizerIsTested) {
  for (const auto& name : kCases) {
    std::string error;
    const ParityCase* c = load_case(name, error);
    ASSERT_NE(c, nullptr) << error;
    std::vector<std::string> optimizers;
    for (const json& o : c->description.at("optimizers"))
      optimizers.push_back(o.at("name").get<std::string>());
    EXPECT_EQ(optimizers, kOptimizers) << name;
  }
}

// ---- A fixture that cannot be used says it is stale and how to regenerate it.

std::vector<char> fixture_bytes(const std::string& case_name) {
  std::ifstream in(fixture_path(case_name), std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void expect_stale(const std::vector<char>& bytes, const std::string& expected_problem) {
  try {
    FixtureFile::parse("damaged.fixture", bytes);
    ADD_FAILURE() << "a damaged fixture was accepted; expected: " << expected_problem;
  } catch (const StaleFixtureError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("damaged.fixture"), std::string::npos) << message;
    EXPECT_NE(message.find(expected_problem), std::string::npos) << message;
    EXPECT_NE(message.find("stale"), std::string::npos) << message;
    EXPECT_NE(message.find("/usr/bin/python3 tests/fixtures/make_fixtures.py"), std::string::npos)
        << message;
  }
}

TEST(ParityFixtures, WrongMagicSaysRegenerate) {
  std::vector<char> bytes = fixture_bytes("cnn2_k3");
  ASSERT_GT(bytes.size(), 64u);
  bytes[0] = 'X';
  expect_stale(bytes, "magic");
  expect_stale({}, "magic");
}

TEST(ParityFixtures, FormatVersionMismatchSaysRegenerate) {
  std::vector<char> bytes = fixture_bytes("cnn2_k3");
  ASSERT_GT(bytes.size(), 64u);
  bytes[8] = char(bytes[8] + 1);  // format version, after the 8 magic bytes
  expect_stale(bytes, "format version");
}

TEST(ParityFixtures, GeneratorVersionMismatchSaysRegenerate) {
  std::vector<char> bytes = fixture_bytes("cnn2_k3");
  ASSERT_GT(bytes.size(), 64u);
  bytes[12] = char(bytes[12] + 1);  // generator version, after the format version
  expect_stale(bytes, "generator version");
}

TEST(ParityFixtures, TruncatedFixtureSaysRegenerate) {
  std::vector<char> bytes = fixture_bytes("cnn2_k3");
  ASSERT_GT(bytes.size(), 64u);
  bytes.resize(bytes.size() - 100);
  expect_stale(bytes, "ends early");
}

TEST(ParityFixtures, MissingFixtureSaysRegenerate) {
  try {
    FixtureFile::read(fixture_path("no_such_case"));
    ADD_FAILURE() << "a missing fixture was accepted";
  } catch (const StaleFixtureError& e) {
    EXPECT_NE(std::string(e.what()).find("make_fixtures.py"), std::string::npos) << e.what();
  }
}

}  // namespace
