// The synthetic datasets: the sin regression task (docs/science.md §3.5) and Gaussian images with
// teacher or random labels.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <vector>

#include "condense/core/rng.hpp"
#include "condense/data/dataset.hpp"
#include "condense/data/synthetic.hpp"
#include "data_test_support.hpp"

using namespace condense;

namespace {

TEST(DataSynthetic, SinFollowsTheFormula) {
  DataSpec spec;
  spec.dataset = DatasetKind::sin;
  spec.target = TargetKind::regression;
  spec.train_size = 80;
  spec.test_size = 20;
  const Data data = load_data(spec, 3);
  EXPECT_EQ(data.train.shape, (FeatureShape{5, 1, 1}));
  EXPECT_EQ(data.train.size, 80);
  EXPECT_EQ(data.train.target_width, 1);
  EXPECT_EQ(data.classes, 0);
  EXPECT_TRUE(data.train.labels.empty());
  EXPECT_TRUE(data.train.original_labels.empty());
  EXPECT_TRUE(data.mean.empty());
  for (const DataSplit* split : {&data.train, &data.test}) {
    for (int i = 0; i < split->size; ++i) {
      double y = 0.0;
      for (int k = 0; k < 5; ++k) {
        const double x = split->inputs[std::size_t(i * 5 + k)];
        ASSERT_GE(x, -4.0);
        ASSERT_LT(x, 2.0);
        y += 3.5 * std::sin(5.0 * x + 1.0);
      }
      ASSERT_NEAR(split->targets[std::size_t(i)], y, 1e-12);
    }
  }
  EXPECT_EQ(data.test.size, 20);
  EXPECT_NE(data.test.inputs[0], data.train.inputs[0]);
  // Same seed, same points; the training set does not depend on the test size.
  DataSpec no_test = spec;
  no_test.test_size = 0;
  EXPECT_EQ(load_data(no_test, 3).train.inputs, data.train.inputs);
  EXPECT_NE(load_data(spec, 4).train.inputs, data.train.inputs);
  EXPECT_CONTAINS(data.description, "normalization does not apply to sin");
}

TEST(DataSynthetic, TeacherLabelsAreTheArgmaxOfALinearMap) {
  // A teacher of our own: class c scores x_c, so the label is the largest of the first 3 pixels.
  GaussianSpec gaussian;
  gaussian.shape = {1, 2, 2};
  gaussian.classes = 3;
  std::vector<double> teacher(12, 0.0);
  for (int c = 0; c < 3; ++c) teacher[std::size_t(c * 4 + c)] = 1.0;
  Rng rng(5);
  const DataSplit split = draw_gaussian(gaussian, teacher, 200, rng);
  for (int i = 0; i < 200; ++i) {
    const double* x = split.inputs.data() + i * 4;
    ASSERT_EQ(split.original_labels[std::size_t(i)], int(std::max_element(x, x + 3) - x));
  }
}

TEST(DataSynthetic, GaussianDatasetLabelsComeFromOneLinearTeacher) {
  // In one dimension, argmax_c t_c·x is one class for every x > 0 and one for every x < 0.
  DataSpec spec;
  spec.dataset = DatasetKind::gaussian;
  spec.gaussian.shape = {1, 1, 1};
  spec.gaussian.classes = 4;
  spec.train_size = 300;
  spec.test_size = 100;
  spec.normalize = Normalize::none;
  const Data data = load_data(spec, 11);
  std::set<int> positive, negative;
  for (const DataSplit* split : {&data.train, &data.test})
    for (int i = 0; i < split->size; ++i)
      (split->inputs[std::size_t(i)] > 0 ? positive : negative)
          .insert(split->labels[std::size_t(i)]);
  EXPECT_EQ(positive.size(), 1u);
  EXPECT_EQ(negative.size(), 1u);
  EXPECT_NE(*positive.begin(), *negative.begin());

  // Two classes and binary targets: the sign of a linear function of x, the same for train and
  // test, and standard normalization gives training mean 0.
  spec.gaussian = GaussianSpec{};
  spec.target = TargetKind::binary;
  spec.positive_classes = {1};
  spec.normalize = Normalize::standard;
  const Data binary = load_data(spec, 11);
  EXPECT_EQ(binary.train.shape, (FeatureShape{1, 8, 8}));
  EXPECT_EQ(binary.train.target_width, 1);
  int plus = 0;
  for (double t : binary.train.targets) plus += t > 0;
  EXPECT_GT(plus, 50);
  EXPECT_LT(plus, 250);
  double sum = 0.0;
  for (double x : binary.train.inputs) sum += x;
  EXPECT_NEAR(sum / double(binary.train.inputs.size()), 0.0, 1e-12);
  EXPECT_EQ(load_data(spec, 11).train.inputs, binary.train.inputs);

  // Random labels: uniform over the classes.
  spec.gaussian.labels = "random";
  spec.gaussian.classes = 3;
  spec.target = TargetKind::class_index;
  spec.positive_classes = {};
  spec.train_size = 3000;
  std::map<int, int> counts;
  for (int label : load_data(spec, 11).train.labels) ++counts[label];
  ASSERT_EQ(counts.size(), 3u);
  for (const auto& [label, count] : counts) EXPECT_NEAR(count, 1000, 120) << "class " << label;
}

}  // namespace
