// Optimizers and learning-rate schedules (train/optimizer.hpp): PyTorch's update rules checked on
// a three-element vector against values worked out by hand, schedules against their closed forms,
// and the errors of OptimizerSpec::validate.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <numbers>
#include <string>
#include <vector>

#include "condense/core/error.hpp"
#include "condense/train/optimizer.hpp"

namespace condense {
namespace {

using ::testing::HasSubstr;

Vector<double> vec(std::initializer_list<double> values) {
  Vector<double> v(Eigen::Index(values.size()));
  Eigen::Index i = 0;
  for (double value : values) v[i++] = value;
  return v;
}

// θ0 and two gradients shared by the cases below.
const Vector<double> kTheta0 = vec({1.0, -2.0, 0.5});
const Vector<double> kGrad1 = vec({0.5, 1.0, -2.0});
const Vector<double> kGrad2 = vec({-0.25, 0.75, 1.5});

void expect_values(const Vector<double>& actual, std::initializer_list<double> expected) {
  ASSERT_EQ(actual.size(), Eigen::Index(expected.size()));
  Eigen::Index i = 0;
  for (double value : expected) {
    EXPECT_NEAR(actual[i], value, 1e-15 * std::max(1.0, std::abs(value))) << "element " << i;
    ++i;
  }
}

OptimizerSpec spec_of(OptimizerKind kind, double lr) {
  OptimizerSpec spec;
  spec.kind = kind;
  spec.lr = lr;
  return spec;
}

// ---- One or two steps by hand ---------------------------------------------------------------

TEST(OptimizerStep, GradientDescentWithWeightDecay) {
  // θ ← θ − η (g + λθ) = θ0 − 0.1 (g1 + 0.01 θ0)
  OptimizerSpec spec = spec_of(OptimizerKind::gd, 0.1);
  spec.weight_decay = 0.01;
  Optimizer<double> optimizer(spec, 3);
  Vector<double> theta = kTheta0;
  optimizer.step(theta, kGrad1);
  expect_values(theta, {0.949, -2.098, 0.6995});
  EXPECT_EQ(optimizer.steps_taken(), 1);
}

TEST(OptimizerStep, GradientsAreNotChanged) {
  Optimizer<double> optimizer(spec_of(OptimizerKind::adam, 0.1), 3);
  Vector<double> theta = kTheta0;
  const Vector<double> grad = kGrad1;
  optimizer.step(theta, grad);
  EXPECT_EQ(grad, kGrad1);
}

TEST(OptimizerStep, SgdWithMomentum) {
  // b1 = g1, θ1 = θ0 − 0.1 g1 = (0.95, −2.1, 0.7);
  // b2 = 0.9 g1 + g2 = (0.2, 1.65, −0.3), θ2 = θ1 − 0.1 b2.
  OptimizerSpec spec = spec_of(OptimizerKind::sgd, 0.1);
  spec.momentum = 0.9;
  Optimizer<double> optimizer(spec, 3);
  Vector<double> theta = kTheta0;
  optimizer.step(theta, kGrad1);
  expect_values(theta, {0.95, -2.1, 0.7});
  optimizer.step(theta, kGrad2);
  expect_values(theta, {0.93, -2.265, 0.73});
  expect_values(optimizer.first_moment(), {0.2, 1.65, -0.3});
}

TEST(OptimizerStep, SgdWithDampening) {
  // The first step ignores dampening (PyTorch): b1 = g1. Then b2 = 0.9 g1 + 0.5 g2.
  OptimizerSpec spec = spec_of(OptimizerKind::sgd, 0.1);
  spec.momentum = 0.9;
  spec.dampening = 0.5;
  Optimizer<double> optimizer(spec, 3);
  Vector<double> theta = kTheta0;
  optimizer.step(theta, kGrad1);
  expect_values(theta, {0.95, -2.1, 0.7});
  optimizer.step(theta, kGrad2);
  expect_values(theta, {0.9175, -2.2275, 0.805});
}

TEST(OptimizerStep, SgdWithoutMomentumIsGradientDescent) {
  Optimizer<double> sgd(spec_of(OptimizerKind::sgd, 0.1), 3);
  Optimizer<double> gd(spec_of(OptimizerKind::gd, 0.1), 3);
  Vector<double> a = kTheta0, b = kTheta0;
  sgd.step(a, kGrad1);
  gd.step(b, kGrad1);
  EXPECT_EQ(a, b);
}

TEST(OptimizerStep, Nesterov) {
  // d1 = g1 + 0.9 b1 = 1.9 g1, θ1 = θ0 − 0.1 d1 = (0.905, −2.19, 0.88);
  // b2 = (0.2, 1.65, −0.3), d2 = g2 + 0.9 b2 = (−0.07, 2.235, 1.23), θ2 = θ1 − 0.1 d2.
  OptimizerSpec spec = spec_of(OptimizerKind::sgd, 0.1);
  spec.momentum = 0.9;
  spec.nesterov = true;
  Optimizer<double> optimizer(spec, 3);
  Vector<double> theta = kTheta0;
  optimizer.step(theta, kGrad1);
  expect_values(theta, {0.905, -2.19, 0.88});
  optimizer.step(theta, kGrad2);
  expect_values(theta, {0.912, -2.4135, 0.757});
}

TEST(OptimizerStep, Adam) {
  // Step 1: m̂ = g, v̂ = g², so θ1 = θ0 − 0.1 g / (|g| + 1e-8):
  //   1 − 0.1·0.5/0.50000001 = 0.900000002, −2 − 0.1/1.00000001 = −2.099999999, ...
  // Step 2: m = 0.09 g1 + 0.1 g2, v = 0.000999 g1² + 0.001 g2², m̂ = m/0.19, v̂ = v/0.001999.
  Optimizer<double> optimizer(spec_of(OptimizerKind::adam, 0.1), 3);
  Vector<double> theta = kTheta0;
  optimizer.step(theta, kGrad1);
  expect_values(theta, {0.900000002, -2.099999999, 0.5999999995});
  expect_values(optimizer.first_moment(), {0.05, 0.1, -0.2});
  expect_values(optimizer.second_moment(), {0.00025, 0.001, 0.004});
  optimizer.step(theta, kGrad2);
  expect_values(theta, {0.8733662987078463, -2.1982575060341087, 0.6089325001899979});
}

TEST(OptimizerStep, AdamWeightDecayIsAddedToTheGradient) {
  // L2 decay as torch.optim.Adam (not AdamW): g' = g1 + 0.1 θ0 = (0.6, 0.8, −1.95).
  OptimizerSpec spec = spec_of(OptimizerKind::adam, 0.1);
  spec.weight_decay = 0.1;
  Optimizer<double> optimizer(spec, 3);
  Vector<double> theta = kTheta0;
  optimizer.step(theta, kGrad1);
  expect_values(theta, {0.9000000016666666, -2.09999999875, 0.5999999994871795});
}

TEST(OptimizerStep, FloatFollowsDouble) {
  OptimizerSpec spec = spec_of(OptimizerKind::adam, 0.1);
  Optimizer<float> single(spec, 3);
  Optimizer<double> twice(spec, 3);
  Vector<float> a = kTheta0.cast<float>();
  Vector<double> b = kTheta0;
  for (const Vector<double>* g : {&kGrad1, &kGrad2, &kGrad1}) {
    single.step(a, g->cast<float>());
    twice.step(b, *g);
  }
  // float's β2 = 0.999f makes 1 − β2 off by 1.3e-5 relative, as in PyTorch's float32 Adam.
  for (Eigen::Index i = 0; i < 3; ++i) EXPECT_NEAR(a[i], b[i], 1e-5);
}

TEST(OptimizerStep, EachStepUsesItsScheduledRate) {
  // Step schedule halving every step: θ3 = θ0 − (0.1 + 0.05 + 0.025) g.
  OptimizerSpec spec = spec_of(OptimizerKind::gd, 0.1);
  spec.schedule.kind = ScheduleKind::step;
  spec.schedule.step_size = 1;
  spec.schedule.factor = 0.5;
  Optimizer<double> optimizer(spec, 3);
  Vector<double> theta = kTheta0;
  EXPECT_EQ(optimizer.current_lr(), 0.1);
  for (int i = 0; i < 3; ++i) optimizer.step(theta, kGrad1);
  EXPECT_EQ(optimizer.current_lr(), 0.0125);
  expect_values(theta, {0.9125, -2.175, 0.85});
}

// ---- Schedules ------------------------------------------------------------------------------

TEST(LearningRate, Constant) {
  const OptimizerSpec spec = spec_of(OptimizerKind::gd, 0.03);
  for (long step : {0L, 1L, 999L, 1000000L}) EXPECT_EQ(learning_rate(spec, step), 0.03);
}

TEST(LearningRate, StepLikePyTorchStepLR) {
  // η_t = η · factor^⌊t / step_size⌋
  OptimizerSpec spec = spec_of(OptimizerKind::gd, 0.1);
  spec.schedule.kind = ScheduleKind::step;
  spec.schedule.step_size = 3;
  spec.schedule.factor = 0.5;
  const double expected[] = {0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025, 0.0125, 0.0125};
  for (long step = 0; step < 11; ++step)
    EXPECT_DOUBLE_EQ(learning_rate(spec, step), expected[step]) << "step " << step;
}

TEST(LearningRate, CosineLikePyTorchCosineAnnealingLR) {
  // η_t = η_min + (η − η_min)(1 + cos(π t / T)) / 2 for 0 ≤ t ≤ T, then held at η_min.
  OptimizerSpec spec = spec_of(OptimizerKind::gd, 0.1);
  spec.schedule.kind = ScheduleKind::cosine;
  spec.schedule.total_steps = 100;
  spec.schedule.min_lr = 0.01;
  EXPECT_DOUBLE_EQ(learning_rate(spec, 0), 0.1);
  EXPECT_DOUBLE_EQ(learning_rate(spec, 25), 0.08681980515339463);  // 0.01 + 0.045 (1 + 1/√2)
  EXPECT_DOUBLE_EQ(learning_rate(spec, 50), 0.055);
  EXPECT_DOUBLE_EQ(learning_rate(spec, 100), 0.01);
  EXPECT_DOUBLE_EQ(learning_rate(spec, 250), 0.01);
  for (long step = 0; step <= 100; ++step) {
    const double expected = 0.01 + 0.09 * (1 + std::cos(std::numbers::pi * double(step) / 100)) / 2;
    EXPECT_NEAR(learning_rate(spec, step), expected, 1e-15) << "step " << step;
  }
}

// ---- Validation -----------------------------------------------------------------------------

struct InvalidCase {
  const char* what;
  std::function<void(OptimizerSpec&)> change;
  const char* key;  // the message must name it
};

TEST(OptimizerValidation, ErrorsNameTheKey) {
  const InvalidCase cases[] = {
      {"lr 0", [](OptimizerSpec& s) { s.lr = 0; }, "train.lr"},
      {"lr < 0", [](OptimizerSpec& s) { s.lr = -1e-3; }, "train.lr"},
      {"lr NaN", [](OptimizerSpec& s) { s.lr = std::nan(""); }, "train.lr"},
      {"lr inf", [](OptimizerSpec& s) { s.lr = INFINITY; }, "train.lr"},
      {"momentum 1", [](OptimizerSpec& s) { s.momentum = 1.0; }, "train.momentum"},
      {"momentum < 0", [](OptimizerSpec& s) { s.momentum = -0.1; }, "train.momentum"},
      {"nesterov without momentum", [](OptimizerSpec& s) { s.nesterov = true; }, "train.nesterov"},
      {"nesterov with dampening",
       [](OptimizerSpec& s) {
         s.nesterov = true;
         s.momentum = 0.9;
         s.dampening = 0.1;
       },
       "train.nesterov"},
      {"beta1 1", [](OptimizerSpec& s) { s.beta1 = 1.0; }, "train.betas[0]"},
      {"beta2 < 0", [](OptimizerSpec& s) { s.beta2 = -0.5; }, "train.betas[1]"},
      {"eps 0", [](OptimizerSpec& s) { s.eps = 0; }, "train.eps"},
      {"weight decay < 0", [](OptimizerSpec& s) { s.weight_decay = -1; }, "train.weight_decay"},
      {"step size 0",
       [](OptimizerSpec& s) {
         s.schedule.kind = ScheduleKind::step;
         s.schedule.step_size = 0;
       },
       "train.step_size"},
      {"cosine of no steps",
       [](OptimizerSpec& s) {
         s.schedule.kind = ScheduleKind::cosine;
         s.schedule.total_steps = 0;
       },
       "cosine"},
  };
  for (const InvalidCase& c : cases) {
    OptimizerSpec spec;
    c.change(spec);
    try {
      spec.validate();
      ADD_FAILURE() << c.what << " was accepted";
    } catch (const InputError& error) {
      EXPECT_THAT(error.what(), HasSubstr(c.key)) << c.what;
    }
    // The optimizer validates its spec too.
    EXPECT_THROW(Optimizer<double>(spec, 3), InputError) << c.what;
  }
}

TEST(OptimizerValidation, DefaultsAndPyTorchSettingsAreValid) {
  OptimizerSpec spec;
  EXPECT_NO_THROW(spec.validate());
  spec = spec_of(OptimizerKind::sgd, 0.1);
  spec.momentum = 0.9;
  spec.nesterov = true;
  EXPECT_NO_THROW(spec.validate());
  spec = spec_of(OptimizerKind::adam, 1e-3);
  spec.schedule.kind = ScheduleKind::cosine;
  spec.schedule.total_steps = 1;
  EXPECT_NO_THROW(spec.validate());
}

TEST(OptimizerNames, ParseAndErrors) {
  EXPECT_EQ(parse_optimizer("adam"), OptimizerKind::adam);
  EXPECT_STREQ(optimizer_name(OptimizerKind::sgd), "sgd");
  EXPECT_EQ(parse_schedule("cosine"), ScheduleKind::cosine);
  EXPECT_STREQ(schedule_name(ScheduleKind::step), "step");
  try {
    parse_optimizer("adamw");
    ADD_FAILURE() << "adamw was accepted";
  } catch (const InputError& error) {
    EXPECT_THAT(error.what(), HasSubstr("\"adamw\""));
    EXPECT_THAT(error.what(), HasSubstr("gd, sgd, adam"));
  }
  EXPECT_THROW(parse_schedule("linear"), InputError);
}

}  // namespace
}  // namespace condense
