#include "condense/data/npy_dataset.hpp"

#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <numeric>

#include "condense/core/error.hpp"
#include "condense/core/npy.hpp"
#include "condense/data/image_files.hpp"
#include "condense/data/selection.hpp"

namespace condense {

namespace {

namespace fs = std::filesystem;

constexpr const char* kFolderNeeds =
    "; data.dataset = \"npy\" reads x_train.npy and y_train.npy from the folder data.path, and "
    "x_test.npy with y_test.npy for a test set (docs/data.md)";
constexpr std::int64_t kIntMax = std::numeric_limits<int>::max();

// numpy's index of the C-order position `flat` in an array of `shape`: "[3, 0, 2, 5]".
std::string index_text(std::size_t flat, const std::vector<std::int64_t>& shape) {
  std::vector<std::int64_t> index(shape.size());
  for (std::size_t k = shape.size(); k-- > 0;) {
    index[k] = std::int64_t(flat % std::size_t(shape[k]));
    flat /= std::size_t(shape[k]);
  }
  return fmt::format("[{}]", fmt::join(index, ", "));
}

std::string value_text(double value) {
  if (std::isnan(value)) return "NaN";
  return fmt::format("{}", value);
}

// The shape of one sample as the file has it, without N: "(1, 28, 28)".
std::string sample_shape_text(const NpyArray& x) {
  return shape_string({x.shape.begin() + 1, x.shape.end()});
}

// folder/name, which must be a file; `name` is one of the two training files.
std::string training_file(const std::string& folder, const char* name) {
  const std::string file = find_data_file(folder, name, false, kFolderNeeds);
  std::error_code error;
  if (fs::is_directory(file, error))
    fail_input("{} is a directory; expected the NPY file {}{}", file, name, kFolderNeeds);
  return file;
}

// One split's pair of files, read and checked on their own.
struct SplitArrays {
  std::string x_file, y_file;
  NpyArray x, y;
  FeatureShape shape;       // of one sample
  int size = 0;             // N
  std::vector<int> labels;  // class targets: y as class ids
  int width = 0;            // regression: values of y per sample
};

// (N, C, H, W) as it is, (N, H, W) as (N, 1, H, W), (N, F) as (N, F, 1, 1).
FeatureShape input_shape(const NpyArray& x, const std::string& file) {
  const std::vector<std::int64_t>& s = x.shape;
  if (s.size() < 2 || s.size() > 4)
    fail_input(
        "{}: shape {} has {} dimension{}; expected (N, C, H, W) images, (N, H, W) one-channel "
        "images or (N, F) feature vectors",
        file, shape_string(s), s.size(), s.size() == 1 ? "" : "s");
  if (s[0] == 0)
    fail_input("{}: shape {} holds no samples; expected at least one", file, shape_string(s));
  std::int64_t sample = 1;
  for (std::size_t k = 1; k < s.size(); ++k) sample *= s[k];
  if (sample == 0)
    fail_input("{}: shape {} has samples of size 0; expected at least one value per sample", file,
               shape_string(s));
  // The reader has checked the shape against the file's size, so these products do not
  // overflow; the limits are those of the model's sizes.
  if (s[0] > kIntMax || sample > kIntMax)
    fail_input("{}: shape {}: condense takes at most {} samples of at most {} values each", file,
               shape_string(s), kIntMax, kIntMax);
  if (s.size() == 2) return {int(s[1]), 1, 1};
  if (s.size() == 3) return {1, int(s[1]), int(s[2])};
  return {int(s[1]), int(s[2]), int(s[3])};
}

// `what` are "inputs" or "targets", for the message.
void check_finite(const NpyArray& array, const std::string& file, const char* what) {
  for (std::size_t i = 0; i < array.values.size(); ++i)
    if (!std::isfinite(array.values[i]))
      fail_input(
          "{}: the value at {} is {}; {} must be finite numbers (this is the first value that "
          "is not)",
          file, index_text(i, array.shape), value_text(array.values[i]), what);
}

// y as class ids: shape (N,), whole numbers in [0, kNpyMaxClasses).
std::vector<int> class_labels(const NpyArray& y, const std::string& file, TargetKind target) {
  const std::string needs =
      fmt::format("data.target = \"{}\" needs one class label per sample", target_name(target));
  if (y.shape.size() != 1) {
    std::string advice;
    if (y.shape.size() == 2 && y.shape[1] == 1)
      advice = " (save y.reshape(-1))";
    else if (y.shape.size() == 2)
      advice = "; real-valued targets of shape (N, K) are read with data.target = \"regression\"";
    fail_input("{}: shape {}; {}, an array of shape (N,){}", file, shape_string(y.shape), needs,
               advice);
  }
  if (y.shape[0] == 0) fail_input("{}: shape (0,) holds no labels; {}", file, needs);
  std::vector<int> labels(y.values.size());
  for (std::size_t i = 0; i < y.values.size(); ++i) {
    const double v = y.values[i];
    if (!std::isfinite(v) || v != std::floor(v))
      fail_input(
          "{}: the label at [{}] is {}, not a whole number; {}: a class id 0..K-1 ({} array); "
          "for real-valued targets set data.target = \"regression\" with train.loss = \"mse\"",
          file, i, value_text(v), needs, npy_type_name(y.type));
    if (v < 0)
      fail_input("{}: the label at [{}] is {}; class labels are 0..K-1, never negative", file, i,
                 v);
    if (v >= kNpyMaxClasses)
      fail_input(
          "{}: the label at [{}] is {}; class labels are 0..K-1 with K (the largest label + 1) "
          "at most {}",
          file, i, v, kNpyMaxClasses);
    labels[i] = int(v);
  }
  return labels;
}

// y as real-valued targets: shape (N,) (one per sample) or (N, K); returns K.
int regression_width(const NpyArray& y, const std::string& file) {
  if (y.shape.size() != 1 && y.shape.size() != 2)
    fail_input("{}: shape {}; data.target = \"regression\" needs targets of shape (N,) or (N, K)",
               file, shape_string(y.shape));
  if (y.values.empty())
    fail_input("{}: shape {} holds no targets; expected at least one", file, shape_string(y.shape));
  if (y.shape.size() == 2 && y.shape[1] > kIntMax)
    fail_input("{}: shape {}: at most {} targets per sample", file, shape_string(y.shape), kIntMax);
  check_finite(y, file, "targets");
  return y.shape.size() == 1 ? 1 : int(y.shape[1]);
}

SplitArrays read_split(const std::string& x_file, const std::string& y_file, const DataSpec& spec) {
  SplitArrays a;
  a.x_file = x_file;
  a.y_file = y_file;
  a.x = read_npy(x_file);
  a.shape = input_shape(a.x, x_file);
  a.size = int(a.x.shape[0]);
  a.y = read_npy(y_file);
  if (spec.target == TargetKind::regression)
    a.width = regression_width(a.y, y_file);
  else
    a.labels = class_labels(a.y, y_file, spec.target);
  if (a.y.shape[0] != a.x.shape[0])
    fail_input("{} has {} {} but {} has {} samples; expected one {} per sample", y_file,
               a.y.shape[0], a.width ? "rows of targets" : "labels", x_file, a.x.shape[0],
               a.width ? "row" : "label");
  check_finite(a.x, x_file, "inputs");
  return a;
}

// The chosen samples of a split, in the order of `records`.
DataSplit take(SplitArrays& a, const std::vector<std::int64_t>& records) {
  DataSplit split;
  split.shape = a.shape;
  split.size = int(records.size());
  const auto d = std::size_t(a.shape.size());
  split.inputs.reserve(records.size() * d);
  for (std::int64_t r : records) {
    const auto row = a.x.values.begin() + std::ptrdiff_t(std::size_t(r) * d);
    split.inputs.insert(split.inputs.end(), row, row + std::ptrdiff_t(d));
  }
  if (a.width > 0) {
    split.target_width = a.width;
    const auto w = std::size_t(a.width);
    split.targets.reserve(records.size() * w);
    for (std::int64_t r : records) {
      const auto row = a.y.values.begin() + std::ptrdiff_t(std::size_t(r) * w);
      split.targets.insert(split.targets.end(), row, row + std::ptrdiff_t(w));
    }
  } else {
    for (std::int64_t r : records) split.original_labels.push_back(a.labels[std::size_t(r)]);
  }
  a.x.values = {};  // the whole file's values are no longer needed
  return split;
}

// Which samples of a split are candidates: those of the classes in use, or all for regression.
std::vector<std::int64_t> candidates(const SplitArrays& a, const std::vector<int>& classes) {
  if (a.width > 0) {
    std::vector<std::int64_t> all(std::size_t(a.size));
    std::iota(all.begin(), all.end(), std::int64_t{0});
    return all;
  }
  return records_of_classes(a.labels, classes);
}

// The test files when a test set is asked for: both, or an error saying which is missing.
void check_test_pair(const DataSpec& spec, const fs::path& x_test, const fs::path& y_test) {
  std::error_code error;
  const bool has_x = fs::exists(x_test, error), has_y = fs::exists(y_test, error);
  if (!has_x && !has_y)
    fail_input(
        "data.test_size = {} asks for a test set, but {} has neither {} nor {}; add both, or set "
        "data.test_size = 0",
        spec.test_size, spec.path, kNpyTestInputs, kNpyTestTargets);
  if (has_x != has_y)
    fail_input("{} has {} but no {}; a test set needs both {} and {}", spec.path,
               has_x ? kNpyTestInputs : kNpyTestTargets, has_x ? kNpyTestTargets : kNpyTestInputs,
               kNpyTestInputs, kNpyTestTargets);
}

// The test arrays must describe the same task as the training ones.
void check_test_like_train(const SplitArrays& test, const SplitArrays& train, int classes) {
  if (!(test.shape == train.shape))
    fail_input("{} has samples of shape {} but {} has {}; expected one sample shape for both",
               test.x_file, sample_shape_text(test.x), train.x_file, sample_shape_text(train.x));
  if (test.width != train.width)
    fail_input(
        "{} has {} target{} per sample (shape {}) but {} has {} (shape {}); expected the same",
        test.y_file, test.width, test.width == 1 ? "" : "s", shape_string(test.y.shape),
        train.y_file, train.width, shape_string(train.y.shape));
  for (std::size_t i = 0; i < test.labels.size(); ++i)
    if (test.labels[i] >= classes)
      fail_input(
          "{}: the label at [{}] is {}, but the labels of {} are 0..{} (its largest label + 1 "
          "sets the class count); expected test labels among them",
          test.y_file, i, test.labels[i], train.y_file, classes - 1);
}

}  // namespace

NpyDataset load_npy_dataset(const DataSpec& spec, Rng& balanced_rng) {
  const std::string& folder = spec.path;
  const std::string x_train = training_file(folder, kNpyTrainInputs);
  const std::string y_train = training_file(folder, kNpyTrainTargets);
  const bool regression = spec.target == TargetKind::regression;

  SplitArrays train = read_split(x_train, y_train, spec);
  NpyDataset result;
  std::vector<int> classes;
  if (!regression) {
    result.classes = 1 + *std::max_element(train.labels.begin(), train.labels.end());
    validate_class_options(spec, result.classes, y_train);
    classes = spec.classes;
    if (classes.empty()) {
      classes.resize(std::size_t(result.classes));
      std::iota(classes.begin(), classes.end(), 0);
    }
  }
  const auto available = [&](const SplitArrays& a, SplitKind split) {
    return fmt::format(
        "{} samples{} in {}", split_name(split),
        spec.classes.empty() ? "" : fmt::format(" of classes {}", fmt::join(classes, ", ")),
        a.x_file);
  };

  const std::vector<std::int64_t> train_candidates = candidates(train, classes);
  const std::vector<std::int64_t> train_records =
      spec.subset == SubsetKind::first
          ? take_first(train_candidates, spec.train_size, "data.train_size",
                       available(train, SplitKind::train))
          : take_balanced(train.labels, train_candidates, classes, spec.train_size, balanced_rng,
                          available(train, SplitKind::train));
  result.train = take(train, train_records);

  if (spec.test_size != 0) {
    const fs::path x_test = fs::path(folder) / kNpyTestInputs;
    const fs::path y_test = fs::path(folder) / kNpyTestTargets;
    check_test_pair(spec, x_test, y_test);
    SplitArrays test = read_split(x_test.string(), y_test.string(), spec);
    check_test_like_train(test, train, result.classes);
    const std::vector<std::int64_t> test_records =
        take_first(candidates(test, classes), spec.test_size == -1 ? 0 : spec.test_size,
                   "data.test_size", available(test, SplitKind::test));
    result.test = take(test, test_records);
  }
  return result;
}

}  // namespace condense
