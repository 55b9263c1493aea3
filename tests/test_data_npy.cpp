// data.dataset = "npy": a researcher's own arrays (x_train.npy, y_train.npy, x_test.npy,
// y_test.npy) written by condense's write_npy and by hand-built headers of every dtype, their
// shapes, subsets, normalization and targets, and an error naming the file for every bad folder.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <numeric>
#include <string>
#include <vector>

#include "condense/core/npy.hpp"
#include "condense/data/dataset.hpp"
#include "data_test_support.hpp"

using namespace condense;
namespace fs = std::filesystem;

namespace {

// A version 1.0 NPY file as numpy.save writes it, for dtypes and shapes write_npy does not write.
std::string numpy_file(const std::string& descr, const std::string& shape,
                       const std::string& data) {
  std::string header =
      "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
  header.append((64 - (10 + header.size() + 1) % 64) % 64, ' ');
  header += '\n';
  std::string bytes = "\x93NUMPY\x01";
  bytes += '\0';
  bytes += char(header.size() & 0xff);
  bytes += char(header.size() >> 8);
  return bytes + header + data;
}

template <class T>
std::string raw_bytes(const std::vector<T>& values) {
  return std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T));
}

class NpyData : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "condense_test_data_npy_XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir = pattern;
  }
  void TearDown() override { fs::remove_all(dir); }

  void write(const std::string& name, const std::vector<double>& values,
             const std::vector<std::int64_t>& shape, NpyType type = NpyType::float64) const {
    write_npy(dir / name, values.data(), shape, type);
  }
  void write_raw(const std::string& name, const std::string& bytes) const {
    std::ofstream(dir / name, std::ios::binary) << bytes;
  }

  // x: n samples 1×2×2 whose values are 4i + j; y: i % classes.
  void write_split(const std::string& x, const std::string& y, int n, int classes) const {
    std::vector<double> inputs(std::size_t(n) * 4), labels(static_cast<std::size_t>(n));
    std::iota(inputs.begin(), inputs.end(), 0.0);
    for (int i = 0; i < n; ++i) labels[std::size_t(i)] = i % classes;
    write(x, inputs, {n, 1, 2, 2}, NpyType::float32);
    write(y, labels, {n}, NpyType::int64);
  }

  DataSpec spec() const {
    DataSpec s;
    s.dataset = DatasetKind::npy;
    s.path = dir.string();
    s.train_size = 0;
    s.normalize = Normalize::none;
    s.target = TargetKind::class_index;
    return s;
  }

  std::string file(const std::string& name) const { return (dir / name).string(); }

  fs::path dir;
};

// ---- Reading -----------------------------------------------------------------------------------

TEST_F(NpyData, ImagesAndLabelsAreReadAsWritten) {
  write_split("x_train.npy", "y_train.npy", 6, 3);
  const Data data = load_data(spec(), 1);
  EXPECT_EQ(data.train.shape, (FeatureShape{1, 2, 2}));
  EXPECT_EQ(data.train.size, 6);
  std::vector<double> expected(24);
  std::iota(expected.begin(), expected.end(), 0.0);
  EXPECT_EQ(data.train.inputs, expected);  // as stored: no division by 255
  EXPECT_EQ(data.train.labels, (std::vector<int>{0, 1, 2, 0, 1, 2}));
  EXPECT_EQ(data.classes, 3);
  EXPECT_EQ(data.train.target_width, 3);
  EXPECT_EQ(data.test.size, 0);
  EXPECT_EQ(
      data.description,
      "npy: " + dir.string() + ": 6 train / 0 test, 1x2x2, 3 classes, raw inputs, class targets");
}

TEST_F(NpyData, EveryIntegerAndFloatDtypeIsRead) {
  // uint8 images (N, H, W) from a hand-built header, as np.save writes them: one channel.
  const std::vector<std::uint8_t> pixels = {0, 255, 7, 128, 1, 2, 3, 4};
  write_raw("x_train.npy", numpy_file("|u1", "(2, 2, 2)", raw_bytes(pixels)));
  const std::vector<std::int16_t> big_endian_labels = {0x0100, 0x0000};  // 1, 0 read as '>i2'
  write_raw("y_train.npy", numpy_file(">i2", "(2,)", raw_bytes(big_endian_labels)));
  Data data = load_data(spec(), 1);
  EXPECT_EQ(data.train.shape, (FeatureShape{1, 2, 2}));
  EXPECT_EQ(data.train.inputs, (std::vector<double>{0, 255, 7, 128, 1, 2, 3, 4}));
  EXPECT_EQ(data.train.labels, (std::vector<int>{1, 0}));
  EXPECT_EQ(data.classes, 2);

  const auto labels_of = [&](const std::string& descr, const std::string& bytes) {
    write_raw("y_train.npy", numpy_file(descr, "(2,)", bytes));
    return load_data(spec(), 1).train.labels;
  };
  const std::vector<int> one_zero = {1, 0};
  EXPECT_EQ(labels_of("|i1", raw_bytes(std::vector<std::int8_t>{1, 0})), one_zero);
  EXPECT_EQ(labels_of("<u2", raw_bytes(std::vector<std::uint16_t>{1, 0})), one_zero);
  EXPECT_EQ(labels_of("<i4", raw_bytes(std::vector<std::int32_t>{1, 0})), one_zero);
  EXPECT_EQ(labels_of("<u4", raw_bytes(std::vector<std::uint32_t>{1, 0})), one_zero);
  EXPECT_EQ(labels_of("<u8", raw_bytes(std::vector<std::uint64_t>{1, 0})), one_zero);
  // Labels saved as floats are class ids when they are whole numbers.
  EXPECT_EQ(labels_of("<f4", raw_bytes(std::vector<float>{1, 0})), one_zero);

  // float16 feature vectors (N, F) are (F, 1, 1) samples for fully-connected nets.
  write("x_train.npy", {0.5, -1.5, 2, 0.25, 1, -3}, {2, 3}, NpyType::float16);
  data = load_data(spec(), 1);
  EXPECT_EQ(data.train.shape, (FeatureShape{3, 1, 1}));
  EXPECT_EQ(data.train.inputs, (std::vector<double>{0.5, -1.5, 2, 0.25, 1, -3}));
}

TEST_F(NpyData, SubsetsNormalizationAndTargetsWorkAsForTheOtherDatasets) {
  write_split("x_train.npy", "y_train.npy", 12, 3);
  write_split("x_test.npy", "y_test.npy", 6, 3);
  DataSpec s = spec();
  s.train_size = 4;
  s.test_size = -1;
  s.classes = {2, 0};
  Data data = load_data(s, 1);
  // The first 4 samples of classes 2 and 0 (samples 0, 2, 3, 5), re-indexed 2 → 0, 0 → 1.
  EXPECT_EQ(data.train.original_labels, (std::vector<int>{0, 2, 0, 2}));
  EXPECT_EQ(data.train.labels, (std::vector<int>{1, 0, 1, 0}));
  EXPECT_EQ(data.train.inputs[4], 8.0);  // sample 2 starts at 4·2
  EXPECT_EQ(data.test.size, 4);          // every test sample of classes 2 and 0
  EXPECT_EQ(data.classes, 2);
  EXPECT_CONTAINS(data.description, "classes 2,0 of 3");

  s = spec();
  s.subset = SubsetKind::balanced;
  s.train_size = 6;
  data = load_data(s, 7);
  std::vector<int> per_class(3, 0);
  for (int label : data.train.original_labels) ++per_class[std::size_t(label)];
  EXPECT_EQ(per_class, (std::vector<int>{2, 2, 2}));
  EXPECT_EQ(load_data(s, 7).train.inputs, data.train.inputs);  // seeded

  s = spec();
  s.test_size = 2;
  s.normalize = Normalize::standard;
  s.target = TargetKind::binary;
  s.positive_classes = {1};
  data = load_data(s, 1);
  // Values 0..47: mean 23.5, population variance (48² − 1)/12.
  ASSERT_EQ(data.mean.size(), 1u);
  EXPECT_DOUBLE_EQ(data.mean[0], 23.5);
  EXPECT_NEAR(data.std[0], std::sqrt((48.0 * 48.0 - 1) / 12), 1e-12);
  EXPECT_NEAR(data.test.inputs[0], (0 - 23.5) / data.std[0], 1e-12);
  EXPECT_EQ(data.train.targets, (std::vector<double>{-1, 1, -1, -1, 1, -1, -1, 1, -1, -1, 1, -1}));
  EXPECT_EQ(data.test.targets, (std::vector<double>{-1, 1}));

  s.target = TargetKind::onehot;
  data = load_data(s, 1);
  EXPECT_EQ(data.train.target_width, 3);
  EXPECT_EQ(std::vector<double>(data.train.targets.begin(), data.train.targets.begin() + 6),
            (std::vector<double>{1, 0, 0, 0, 1, 0}));
}

TEST_F(NpyData, RealValuedTargetsAreReadForRegression) {
  write("x_train.npy", {1, 2, 3, 4, 5, 6}, {3, 2});
  write("y_train.npy", {0.5, -1, 2.25}, {3});
  write("x_test.npy", {7, 8}, {1, 2});
  write("y_test.npy", {3.5}, {1});
  DataSpec s = spec();
  s.target = TargetKind::regression;
  s.test_size = -1;
  Data data = load_data(s, 1);
  EXPECT_EQ(data.train.targets, (std::vector<double>{0.5, -1, 2.25}));
  EXPECT_EQ(data.train.target_width, 1);
  EXPECT_EQ(data.test.targets, (std::vector<double>{3.5}));
  EXPECT_EQ(data.test.target_width, 1);
  EXPECT_EQ(data.classes, 0);
  EXPECT_TRUE(data.train.labels.empty());
  EXPECT_TRUE(data.train.original_labels.empty());
  EXPECT_CONTAINS(data.description, ": 3 train / 1 test, 2x1x1, 1 real-valued target per sample");

  // (N, K) targets, from integers too; the first train_size rows.
  write("y_train.npy", {1, 2, 3, 4, 5, 6}, {3, 2}, NpyType::int64);
  write("y_test.npy", {7, 8}, {1, 2});
  s.train_size = 2;
  data = load_data(s, 1);
  EXPECT_EQ(data.train.target_width, 2);
  EXPECT_EQ(data.train.targets, (std::vector<double>{1, 2, 3, 4}));
  EXPECT_EQ(data.train.inputs, (std::vector<double>{1, 2, 3, 4}));
  EXPECT_CONTAINS(data.description, "2 real-valued targets per sample");
}

// ---- Errors ------------------------------------------------------------------------------------

TEST_F(NpyData, MissingFilesSayWhatTheFolderNeeds) {
  DataSpec s = spec();
  s.path = (dir / "nowhere").string();
  std::string message = error_of([&] { load_data(s, 1); });
  EXPECT_CONTAINS(message, "data directory " + s.path + " does not exist");
  EXPECT_CONTAINS(message, "reads x_train.npy and y_train.npy");

  message = error_of([&] { load_data(spec(), 1); });
  EXPECT_CONTAINS(message, "has no x_train.npy");
  EXPECT_CONTAINS(message, "x_test.npy with y_test.npy for a test set");
  write_split("x_train.npy", "labels.npy", 4, 2);
  EXPECT_CONTAINS(error_of([&] { load_data(spec(), 1); }), "has no y_train.npy");
  fs::create_directory(dir / "y_train.npy");
  EXPECT_CONTAINS(error_of([&] { load_data(spec(), 1); }),
                  file("y_train.npy") + " is a directory; expected the NPY file y_train.npy");

  s = spec();
  s.path.clear();
  EXPECT_CONTAINS(error_of([&] { validate(s); }),
                  "data.path is required for npy: the folder holding x_train.npy and y_train.npy");
}

TEST_F(NpyData, TestFilesComeInPairs) {
  write_split("x_train.npy", "y_train.npy", 4, 2);
  DataSpec s = spec();
  s.test_size = -1;
  EXPECT_CONTAINS(error_of([&] { load_data(s, 1); }),
                  "data.test_size = -1 asks for a test set, but " + dir.string() +
                      " has neither x_test.npy nor y_test.npy");
  write_split("x_test.npy", "y_other.npy", 4, 2);
  EXPECT_CONTAINS(error_of([&] { load_data(s, 1); }),
                  dir.string() + " has x_test.npy but no y_test.npy; a test set needs both");
  fs::rename(dir / "x_test.npy", dir / "y_test.npy");
  EXPECT_CONTAINS(error_of([&] { load_data(s, 1); }), "has y_test.npy but no x_test.npy");
  s.test_size = 0;  // no test set asked for: the test files are not read
  EXPECT_NO_THROW(load_data(s, 1));
}

TEST_F(NpyData, ShapesAndCountsAreChecked) {
  write_split("x_train.npy", "y_train.npy", 4, 2);
  write("y_train.npy", {0, 1, 0}, {3});
  EXPECT_CONTAINS(error_of([&] { load_data(spec(), 1); }),
                  file("y_train.npy") + " has 3 labels but " + file("x_train.npy") +
                      " has 4 samples; expected one label per sample");

  write("y_train.npy", {0, 1, 0, 1}, {4});
  write("x_train.npy", {1, 2, 3, 4}, {4});
  EXPECT_CONTAINS(error_of([&] { load_data(spec(), 1); }),
                  file("x_train.npy") + ": shape (4,) has 1 dimension; expected (N, C, H, W)");
  write("x_train.npy", std::vector<double>(8, 1.0), {4, 1, 1, 2, 1});
  EXPECT_CONTAINS(error_of([&] { load_data(spec(), 1); }),
                  "shape (4, 1, 1, 2, 1) has 5 dimensions");
  write("x_train.npy", {}, {0, 1, 2, 2});
  EXPECT_CONTAINS(error_of([&] { load_data(spec(), 1); }),
                  file("x_train.npy") + ": shape (0, 1, 2, 2) holds no samples");
  write("x_train.npy", {}, {4, 0});
  EXPECT_CONTAINS(error_of([&] { load_data(spec(), 1); }), "shape (4, 0) has samples of size 0");

  write_split("x_train.npy", "y_train.npy", 4, 2);
  write("y_train.npy", {}, {0});
  EXPECT_CONTAINS(error_of([&] { load_data(spec(), 1); }),
                  file("y_train.npy") + ": shape (0,) holds no labels");
  write("y_train.npy", {0, 1, 0, 1}, {4, 1});
  EXPECT_CONTAINS(error_of([&] { load_data(spec(), 1); }),
                  file("y_train.npy") +
                      ": shape (4, 1); data.target = \"class\" needs one class "
                      "label per sample, an array of shape (N,) (save "
                      "y.reshape(-1))");
  write("y_train.npy", {0, 1, 0, 1, 0, 1, 0, 1}, {4, 2});
  EXPECT_CONTAINS(error_of([&] { load_data(spec(), 1); }),
                  "real-valued targets of shape (N, K) are read with data.target = \"regression\"");

  // Test arrays must have the training samples' shape (N, H, W) = (N, 1, H, W) is the same.
  write_split("x_train.npy", "y_train.npy", 4, 2);
  write("x_test.npy", std::vector<double>(8, 1.0), {2, 2, 2});
  write("y_test.npy", {0, 1}, {2}, NpyType::int64);
  DataSpec s = spec();
  s.test_size = -1;
  EXPECT_NO_THROW(load_data(s, 1));
  write("x_test.npy", std::vector<double>(6, 1.0), {2, 3});
  EXPECT_CONTAINS(error_of([&] { load_data(s, 1); }),
                  file("x_test.npy") + " has samples of shape (3,) but " + file("x_train.npy") +
                      " has (1, 2, 2); expected one sample shape for both");
}

TEST_F(NpyData, ConstantInputsCannotBeStandardized) {
  write_split("x_train.npy", "y_train.npy", 4, 2);
  write("x_train.npy", std::vector<double>(16, 3.0), {4, 1, 2, 2});
  DataSpec s = spec();
  s.normalize = Normalize::standard;
  EXPECT_CONTAINS(error_of([&] { load_data(s, 1); }),
                  "cannot normalize " + file("x_train.npy") + ": every training input equals 3");
  s.normalize = Normalize::none;
  EXPECT_NO_THROW(load_data(s, 1));
}

TEST_F(NpyData, NonFiniteValuesNameTheFileAndTheFirstIndex) {
  write_split("x_train.npy", "y_train.npy", 4, 2);
  std::vector<double> inputs(16, 0.5);
  inputs[9] = std::numeric_limits<double>::quiet_NaN();  // [2, 0, 0, 1]
  inputs[14] = std::numeric_limits<double>::infinity();  // a later one is not the first
  write("x_train.npy", inputs, {4, 1, 2, 2});
  EXPECT_CONTAINS(
      error_of([&] { load_data(spec(), 1); }),
      file("x_train.npy") + ": the value at [2, 0, 0, 1] is NaN; inputs must be finite");
  inputs[9] = 0;
  inputs[14] = 1e6;  // beyond float16's largest value, 65504: saved as inf
  write("x_train.npy", inputs, {4, 4}, NpyType::float16);
  EXPECT_CONTAINS(error_of([&] { load_data(spec(), 1); }), "the value at [3, 2] is inf");

  write_split("x_train.npy", "y_train.npy", 4, 2);
  write("y_train.npy", {1, -std::numeric_limits<double>::infinity(), 0, 2}, {4});
  DataSpec s = spec();
  s.target = TargetKind::regression;
  EXPECT_CONTAINS(error_of([&] { load_data(s, 1); }),
                  file("y_train.npy") + ": the value at [1] is -inf; targets must be finite");
}

TEST_F(NpyData, LabelsMustBeClassIds) {
  write_split("x_train.npy", "y_train.npy", 4, 2);
  write("y_train.npy", {0, 1, 0.5, 1}, {4});
  std::string message = error_of([&] { load_data(spec(), 1); });
  EXPECT_CONTAINS(message, file("y_train.npy") +
                               ": the label at [2] is 0.5, not a whole number; "
                               "data.target = \"class\" needs one class label");
  EXPECT_CONTAINS(message, "(float64 array)");
  EXPECT_CONTAINS(message,
                  "for real-valued targets set data.target = \"regression\" with "
                  "train.loss = \"mse\"");
  write("y_train.npy", {0, 1, std::nan(""), 1}, {4});
  EXPECT_CONTAINS(error_of([&] { load_data(spec(), 1); }), "the label at [2] is NaN");
  write("y_train.npy", {0, -1, 0, 1}, {4}, NpyType::int64);
  EXPECT_CONTAINS(error_of([&] { load_data(spec(), 1); }),
                  file("y_train.npy") +
                      ": the label at [1] is -1; class labels are 0..K-1, never "
                      "negative");
  write("y_train.npy", {0, 1, 70000, 1}, {4}, NpyType::int64);
  EXPECT_CONTAINS(error_of([&] { load_data(spec(), 1); }),
                  "the label at [2] is 70000; class labels are 0..K-1 with K (the largest label + "
                  "1) at most 65536");

  // Test labels must be classes of the training labels.
  write_split("x_train.npy", "y_train.npy", 4, 2);
  write_split("x_test.npy", "y_test.npy", 4, 3);
  DataSpec s = spec();
  s.test_size = -1;
  EXPECT_CONTAINS(error_of([&] { load_data(s, 1); }),
                  file("y_test.npy") + ": the label at [2] is 2, but the labels of " +
                      file("y_train.npy") + " are 0..1");
}

TEST_F(NpyData, ClassOptionsAreCheckedAgainstTheLabels) {
  write_split("x_train.npy", "y_train.npy", 7, 3);
  DataSpec s = spec();
  s.classes = {0, 3};
  EXPECT_NO_THROW(validate(s));  // the class count is known once y_train.npy is read
  EXPECT_CONTAINS(error_of([&] { load_data(s, 1); }),
                  "data.classes = [0, 3]: class 3 is out of range; " + file("y_train.npy") +
                      " has classes 0..2");
  s = spec();
  s.classes = {-1};
  EXPECT_CONTAINS(error_of([&] { validate(s); }),
                  "class -1 is out of range; class ids are 0 or more");
  s = spec();
  s.target = TargetKind::binary;
  s.positive_classes = {0, 1, 2};
  EXPECT_CONTAINS(error_of([&] { load_data(s, 1); }), "names every class in use");
  s.positive_classes = {5};
  EXPECT_CONTAINS(error_of([&] { load_data(s, 1); }), "data.positive_classes = [5]: class 5");
  s = spec();
  s.subset = SubsetKind::balanced;
  s.train_size = 4;
  EXPECT_CONTAINS(error_of([&] { load_data(s, 1); }),
                  "data.train_size = 4 with data.subset = \"balanced\" must be a multiple of the 3 "
                  "classes in use");
  s.train_size = 9;  // classes 0, 1, 2 have 3, 2, 2 samples
  EXPECT_CONTAINS(error_of([&] { load_data(s, 1); }), "but class 1 has only 2");
  s = spec();
  s.train_size = 8;
  EXPECT_CONTAINS(error_of([&] { load_data(s, 1); }),
                  "data.train_size = 8, but only 7 training samples in " + file("x_train.npy"));

  s = spec();
  s.target = TargetKind::regression;
  s.subset = SubsetKind::balanced;
  EXPECT_CONTAINS(error_of([&] { validate(s); }), "data.subset = \"balanced\" needs class labels");
  s.subset = SubsetKind::first;
  s.classes = {0};
  EXPECT_CONTAINS(error_of([&] { validate(s); }), "data.classes = [0] needs class labels");
}

TEST_F(NpyData, RegressionTargetsMustMatchBetweenSplits) {
  write("x_train.npy", {1, 2, 3}, {3, 1});
  write("y_train.npy", {1, 2, 3, 4, 5, 6}, {3, 2});
  write("x_test.npy", {1}, {1, 1});
  write("y_test.npy", {1}, {1});
  DataSpec s = spec();
  s.target = TargetKind::regression;
  s.test_size = -1;
  EXPECT_CONTAINS(error_of([&] { load_data(s, 1); }),
                  file("y_test.npy") + " has 1 target per sample (shape (1,)) but " +
                      file("y_train.npy") + " has 2 (shape (3, 2))");
  write("y_train.npy", std::vector<double>(6, 1.0), {3, 1, 2});
  EXPECT_CONTAINS(error_of([&] { load_data(s, 1); }),
                  "shape (3, 1, 2); data.target = \"regression\" needs targets of shape (N,) or "
                  "(N, K)");
  write("y_train.npy", {1, 2}, {2});
  EXPECT_CONTAINS(error_of([&] { load_data(s, 1); }), "has 2 rows of targets but");
}

TEST_F(NpyData, HostileHeadersAllocateNothing) {
  write_split("x_train.npy", "y_train.npy", 4, 2);
  // 2^62 samples of 36 values in a file of 16 bytes: refused against the file's size.
  write_raw("x_train.npy", numpy_file("<f4", "(4611686018427387904, 1, 6, 6)", std::string(16, 0)));
  std::string message = error_of([&] { load_data(spec(), 1); });
  EXPECT_CONTAINS(message, file("x_train.npy"));
  EXPECT_CONTAINS(message, "needs more than 2^64 bytes");
  // A product that wraps around 2^64 to a small number.
  write_raw("x_train.npy", numpy_file("|u1", "(4294967296, 4294967296, 1, 1)", std::string(16, 0)));
  EXPECT_CONTAINS(error_of([&] { load_data(spec(), 1); }), "needs more than 2^64 bytes");
  write_raw("x_train.npy", numpy_file("<f8", "(1000000, 1, 6, 6)", std::string(16, 0)));
  EXPECT_CONTAINS(error_of([&] { load_data(spec(), 1); }),
                  "needs 288000000 bytes of data, the file has 16");
  write_raw("x_train.npy", numpy_file("|b1", "(4, 4)", std::string(16, 1)));
  message = error_of([&] { load_data(spec(), 1); });
  EXPECT_CONTAINS(message, file("x_train.npy") + ": dtype '|b1' (bool) is not supported");
}

}  // namespace
