// The data options: their names and every check validate() makes before a file is opened.
#include <gtest/gtest.h>

#include "condense/data/dataset.hpp"
#include "data_test_support.hpp"

using namespace condense;

namespace {

TEST(DataNames, RoundTripAndListAcceptedNames) {
  for (auto kind :
       {DatasetKind::fashion_mnist, DatasetKind::mnist, DatasetKind::cifar10, DatasetKind::cifar100,
        DatasetKind::sin, DatasetKind::gaussian, DatasetKind::npy})
    EXPECT_EQ(parse_dataset(dataset_name(kind)), kind);
  EXPECT_EQ(parse_normalize("per-channel"), Normalize::per_channel);
  EXPECT_EQ(parse_target("class"), TargetKind::class_index);
  EXPECT_EQ(parse_subset("balanced"), SubsetKind::balanced);
  EXPECT_STREQ(target_name(TargetKind::onehot), "onehot");
  const std::string message = error_of([] { parse_dataset("cifar"); });
  EXPECT_CONTAINS(message, "data.dataset");
  EXPECT_CONTAINS(message, "\"fashion-mnist\", \"mnist\", \"cifar10\", \"cifar100\"");
  EXPECT_CONTAINS(error_of([] { parse_normalize("z"); }), "\"per-channel\"");
  EXPECT_CONTAINS(error_of([] { parse_target("mse"); }), "\"regression\"");
  EXPECT_CONTAINS(error_of([] { parse_subset("random"); }), "\"balanced\"");
}

TEST(DataValidate, NamesTheKeyAtFault) {
  DataSpec ok;
  EXPECT_NO_THROW(validate(ok));
  const auto message = [](auto change) {
    DataSpec spec;
    change(spec);
    return error_of([&] { validate(spec); });
  };
  EXPECT_CONTAINS(message([](DataSpec& s) { s.train_size = -1; }), "data.train_size = -1");
  EXPECT_CONTAINS(message([](DataSpec& s) { s.test_size = -2; }), "data.test_size = -2");
  EXPECT_CONTAINS(message([](DataSpec& s) { s.classes = {0, 10}; }), "class 10 is out of range");
  EXPECT_CONTAINS(message([](DataSpec& s) { s.classes = {2, 2}; }), "class 2 appears twice");
  EXPECT_CONTAINS(message([](DataSpec& s) { s.target = TargetKind::binary; }),
                  "data.positive_classes");
  EXPECT_CONTAINS(message([](DataSpec& s) {
                    s.target = TargetKind::binary;
                    s.classes = {0, 1};
                    s.positive_classes = {2};
                  }),
                  "class 2 is not in data.classes");
  EXPECT_CONTAINS(message([](DataSpec& s) {
                    s.target = TargetKind::binary;
                    s.classes = {0, 1};
                    s.positive_classes = {0, 1};
                  }),
                  "names every class in use");
  DataSpec ignored;  // positive_classes matters only to binary targets
  ignored.positive_classes = {1, 99};
  EXPECT_NO_THROW(validate(ignored));
  EXPECT_CONTAINS(message([](DataSpec& s) { s.target = TargetKind::regression; }),
                  "applies only to sin and npy");
  EXPECT_CONTAINS(message([](DataSpec& s) {
                    s.subset = SubsetKind::balanced;
                    s.classes = {0, 1, 2};
                    s.train_size = 500;
                  }),
                  "multiple of the 3 classes in use (for instance 498 or 501)");
  EXPECT_CONTAINS(message([](DataSpec& s) { s.dataset = DatasetKind::cifar10; }),
                  "data.path is required for cifar10");
  EXPECT_CONTAINS(message([](DataSpec& s) { s.dataset = DatasetKind::sin; }),
                  "does not apply to sin");
  EXPECT_CONTAINS(message([](DataSpec& s) {
                    s.dataset = DatasetKind::sin;
                    s.target = TargetKind::regression;
                    s.sin.low = 2.0;
                  }),
                  "data.sin_low = 2 must be below data.sin_high = 2");
  EXPECT_CONTAINS(message([](DataSpec& s) {
                    s.dataset = DatasetKind::sin;
                    s.target = TargetKind::regression;
                    s.test_size = -1;
                  }),
                  "data.test_size = -1");
  EXPECT_CONTAINS(message([](DataSpec& s) {
                    s.dataset = DatasetKind::gaussian;
                    s.path = "/somewhere";
                  }),
                  "data.path = \"/somewhere\" does not apply");
  EXPECT_CONTAINS(message([](DataSpec& s) {
                    s.dataset = DatasetKind::gaussian;
                    s.gaussian.classes = 1;
                  }),
                  "data.gaussian_classes = 1");
  EXPECT_CONTAINS(message([](DataSpec& s) {
                    s.dataset = DatasetKind::gaussian;
                    s.gaussian.labels = "noise";
                  }),
                  "data.gaussian_labels = \"noise\"");
  EXPECT_CONTAINS(message([](DataSpec& s) {
                    s.dataset = DatasetKind::gaussian;
                    s.classes = {0};
                  }),
                  "set data.gaussian_classes instead");
}

}  // namespace
