// Tests of theory_problem (src/condense/theory/theory_problem.hpp): the one way from plain arrays
// and a model description to the theory's problem, taken by `condense predict`, `condense train`
// and the Python package. The config path gives the problem the arrays give; data and descriptions
// that cannot be used are refused with a message naming what is wrong.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "condense/core/error.hpp"
#include "condense/pipeline/run_prediction.hpp"
#include "condense/theory/theory_problem.hpp"

using namespace condense;

namespace {

std::string error_of(const auto& action) {
  try {
    action();
  } catch (const InputError& error) {
    return error.what();
  }
  return "(no error)";
}

#define EXPECT_CONTAINS(text, part)                          \
  EXPECT_NE(std::string(text).find(part), std::string::npos) \
      << "\"" << (text) << "\" does not contain \"" << (part) << "\""

// 12 samples of 1x4x4 with a pattern the ±1 targets depend on, so Z has a clear top direction.
struct SmallData {
  std::vector<double> inputs, targets;
  std::vector<int> labels;
  SmallData() {
    for (int i = 0; i < 12; ++i) {
      const double sign = i % 2 == 0 ? 1.0 : -1.0;
      for (int p = 0; p < 16; ++p) inputs.push_back(sign * (1.0 + 0.1 * p) + 0.01 * i * p);
      targets.push_back(sign);
      labels.push_back(i % 3);
    }
  }
  TheoryData view() const {
    TheoryData data;
    data.shape = {1, 4, 4};
    data.samples = 12;
    data.inputs = inputs.data();
    data.targets = targets.data();
    data.target_width = 1;
    data.target_encoding = "binary";
    data.description = "a pattern";
    return data;
  }
};

TheorySetup cnn_setup() {
  TheorySetup setup;
  setup.model.conv = {ConvSpec{3, 3, 1, 0, Pooling::none}};
  setup.model.activations = {parse_activation("tanh")};
  setup.model.bias = false;
  setup.model.outputs = 0;
  setup.init.all.std = 1e-5;
  setup.train.optimizer.lr = 0.01;
  return setup;
}

}  // namespace

TEST(TheoryProblem, TheConfigPathGivesTheProblemOfTheArrays) {
  const SmallData small;
  RunConfig config;
  config.model = cnn_setup().model;
  config.init.all.std = 1e-5;
  config.train.optimizer.lr = 0.01;
  config.data.target = TargetKind::binary;
  Data data;
  data.train.shape = {1, 4, 4};
  data.train.size = 12;
  data.train.inputs = small.inputs;
  data.train.targets = small.targets;
  data.train.target_width = 1;
  data.description = "a pattern";
  const Prediction from_config = predict(theory_problem(config, data));
  const Prediction from_arrays = predict(theory_problem(cnn_setup(), small.view()));
  EXPECT_EQ(prediction_json(from_config).dump(), prediction_json(from_arrays).dump());
  EXPECT_EQ(from_arrays.model.conv.positions(), 4);
  EXPECT_EQ(from_arrays.targets_rule, "mse: binary targets");
  ASSERT_TRUE(from_arrays.step_lr.has_value());
  EXPECT_EQ(*from_arrays.step_lr, 0.01);
}

TEST(TheoryProblem, WithoutAnOptimizerTheTimesAreGradientFlowTimeOnly) {
  const SmallData small;
  TheorySetup setup = cnn_setup();
  setup.has_optimizer = false;
  const Prediction without = predict(theory_problem(setup, small.view()));
  const Prediction with = predict(theory_problem(cnn_setup(), small.view()));
  EXPECT_FALSE(without.step_lr.has_value());
  EXPECT_FALSE(without.align_1e2.steps.has_value());
  EXPECT_FALSE(without.linear_end.discrete_steps.has_value());
  EXPECT_EQ(without.align_1e2.time, with.align_1e2.time);
  EXPECT_EQ(without.linear_end.time, with.linear_end.time);
  EXPECT_CONTAINS(without.step_rule, "gradient-flow time only");
}

TEST(TheoryProblem, TheReadoutInitByItsLayerNameSetsEpsilon) {
  const SmallData small;
  TheorySetup setup = cnn_setup();
  setup.init.layers["fc1"].std = 3e-3;
  const TheoryProblem problem = theory_problem(setup, small.view());
  EXPECT_EQ(problem.first_layer_std, 1e-5);
  EXPECT_EQ(problem.readout_std, 3e-3);
  EXPECT_EQ(problem.epsilon, 3e-3);
  EXPECT_CONTAINS(problem.epsilon_rule, "the larger of the two layers' init std");
}

TEST(TheoryProblem, DataThatCannotBeUsedAreRefused) {
  SmallData small;
  TheoryData data = small.view();
  data.samples = 0;
  EXPECT_EQ(error_of([&] { theory_problem(cnn_setup(), data); }),
            "the prediction needs training data: there are no samples");
  small.inputs[5 * 16 + 3] = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(error_of([&] { theory_problem(cnn_setup(), small.view()); }),
            "the inputs have a non-finite value (NaN or infinity) in sample 5");
  small = SmallData();
  small.targets[7] = std::numeric_limits<double>::infinity();
  EXPECT_EQ(error_of([&] { theory_problem(cnn_setup(), small.view()); }),
            "the targets have a non-finite value (NaN or infinity) in sample 7");
  small = SmallData();
  data = small.view();
  data.shape = {1, 0, 16};
  EXPECT_CONTAINS(error_of([&] { theory_problem(cnn_setup(), data); }),
                  "every size must be at least 1");
}

TEST(TheoryProblem, TargetsOfTheWrongKindOrWidthAreRefused) {
  const SmallData small;
  TheorySetup setup = cnn_setup();
  setup.loss = LossKind::cross_entropy;
  EXPECT_CONTAINS(error_of([&] { theory_problem(setup, small.view()); }),
                  "the loss cross-entropy is trained on class labels (target \"class\"), not on "
                  "binary targets");
  TheoryData labels = small.view();
  labels.targets = nullptr;
  labels.labels = small.labels.data();
  labels.target_width = 3;
  labels.target_encoding = "class";
  EXPECT_CONTAINS(error_of([&] { theory_problem(cnn_setup(), labels); }),
                  "the loss mse is trained on float targets");
  EXPECT_NO_THROW(predict(theory_problem(setup, labels)));
  setup = cnn_setup();
  setup.model.outputs = 2;
  EXPECT_EQ(error_of([&] { theory_problem(setup, small.view()); }),
            "the model has 2 outputs, but the binary targets have 1");
}

TEST(TheoryProblem, AConvLayerWithStrideZeroIsRefusedBeforeItsGeometryIsComputed) {
  const SmallData small;
  TheorySetup setup = cnn_setup();
  setup.model.conv[0].stride = 0;
  EXPECT_CONTAINS(error_of([&] { theory_problem(setup, small.view()); }),
                  "the conv layer needs kernel >= 1, stride >= 1 and padding >= 0, got kernel 3, "
                  "stride 0, padding 0");
}
