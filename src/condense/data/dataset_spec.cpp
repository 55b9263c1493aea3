// The names of the data options and the checks that need no file: everything a user can get
// wrong in the [data] section is reported here, before any file is opened (npy's class count comes
// from its labels file: the class options are checked again against it, once read).
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "condense/core/error.hpp"
#include "condense/data/dataset.hpp"

namespace condense {

namespace {

template <class Enum, std::size_t n>
Enum parse_name(const char* key, const std::string& name,
                const std::pair<Enum, const char*> (&table)[n]) {
  std::vector<std::string> known;
  for (const auto& [value, text] : table) {
    if (name == text) return value;
    known.push_back(fmt::format("\"{}\"", text));
  }
  fail_input("{} = \"{}\" is not known; expected one of {}", key, name, fmt::join(known, ", "));
}

template <class Enum, std::size_t n>
const char* name_of(Enum value, const std::pair<Enum, const char*> (&table)[n]) {
  for (const auto& [v, text] : table)
    if (v == value) return text;
  return "?";
}

constexpr std::pair<DatasetKind, const char*> kDatasetNames[] = {
    {DatasetKind::fashion_mnist, "fashion-mnist"},
    {DatasetKind::mnist, "mnist"},
    {DatasetKind::cifar10, "cifar10"},
    {DatasetKind::cifar100, "cifar100"},
    {DatasetKind::sin, "sin"},
    {DatasetKind::gaussian, "gaussian"},
    {DatasetKind::npy, "npy"}};
constexpr std::pair<Normalize, const char*> kNormalizeNames[] = {
    {Normalize::none, "none"},
    {Normalize::standard, "standard"},
    {Normalize::per_channel, "per-channel"}};
constexpr std::pair<TargetKind, const char*> kTargetNames[] = {
    {TargetKind::class_index, "class"},
    {TargetKind::onehot, "onehot"},
    {TargetKind::binary, "binary"},
    {TargetKind::regression, "regression"}};
constexpr std::pair<SubsetKind, const char*> kSubsetNames[] = {{SubsetKind::first, "first"},
                                                               {SubsetKind::balanced, "balanced"}};

bool is_synthetic(DatasetKind kind) {
  return kind == DatasetKind::sin || kind == DatasetKind::gaussian;
}

// A class count not known before the files are read (npy: max label + 1).
constexpr int kClassCountUnknown = -1;

// Class ids must lie in [0, count) and appear once; with the count unknown, be 0 or more.
void check_class_list(const char* key, const std::vector<int>& ids, int count,
                      const std::string& source) {
  std::set<int> seen;
  for (int id : ids) {
    if (id < 0 || (count != kClassCountUnknown && id >= count)) {
      if (count == kClassCountUnknown)
        fail_input("{} = [{}]: class {} is out of range; class ids are 0 or more", key,
                   fmt::join(ids, ", "), id);
      fail_input("{} = [{}]: class {} is out of range; {} has classes 0..{}", key,
                 fmt::join(ids, ", "), id, source, count - 1);
    }
    if (!seen.insert(id).second)
      fail_input("{} = [{}]: class {} appears twice", key, fmt::join(ids, ", "), id);
  }
}

void validate_synthetic(const DataSpec& spec) {
  const char* name = dataset_name(spec.dataset);
  if (!spec.path.empty())
    fail_input("data.path = \"{}\" does not apply to the synthetic dataset {}; remove it",
               spec.path, name);
  if (spec.train_size < 1)
    fail_input("data.train_size = {}: {} draws train_size points, so it must be at least 1",
               spec.train_size, name);
  if (spec.test_size < 0)
    fail_input(
        "data.test_size = {}: {} draws test_size points; expected 0 (no test set) or a "
        "positive count",
        spec.test_size, name);
  if (spec.subset != SubsetKind::first)
    fail_input("data.subset = \"{}\" does not apply to {}: its points are drawn, not selected",
               subset_name(spec.subset), name);
  if (!spec.classes.empty())
    fail_input("data.classes does not apply to {}{}", name,
               spec.dataset == DatasetKind::gaussian ? "; set data.gaussian_classes instead" : "");
}

void validate_sin(const SinSpec& sin) {
  if (sin.dim < 1) fail_input("data.sin_dim = {}: expected at least 1", sin.dim);
  const std::pair<const char*, double> values[] = {{"amplitude", sin.amplitude},
                                                   {"frequency", sin.frequency},
                                                   {"phase", sin.phase},
                                                   {"low", sin.low},
                                                   {"high", sin.high}};
  for (const auto& [key, value] : values)
    if (!std::isfinite(value)) fail_input("data.sin_{} = {}: expected a finite number", key, value);
  if (!(sin.low < sin.high))
    fail_input("data.sin_low = {} must be below data.sin_high = {}", sin.low, sin.high);
}

void validate_gaussian(const GaussianSpec& gaussian) {
  const FeatureShape& shape = gaussian.shape;
  if (shape.channels < 1 || shape.height < 1 || shape.width < 1)
    fail_input("data.gaussian_shape = {}: expected (C, H, W) with every entry at least 1",
               to_string(shape));
  if (gaussian.classes < 2)
    fail_input("data.gaussian_classes = {}: expected at least 2", gaussian.classes);
  if (gaussian.labels != "teacher" && gaussian.labels != "random")
    fail_input("data.gaussian_labels = \"{}\" is not known; expected \"teacher\" or \"random\"",
               gaussian.labels);
}

// The target encoding suits the dataset: sin has real-valued targets only, the image datasets and
// gaussian classes only; npy has either, and real-valued ones cannot be subset by class.
void validate_target_kind(const DataSpec& spec) {
  const char* name = dataset_name(spec.dataset);
  const bool regression = spec.target == TargetKind::regression;
  if (spec.dataset == DatasetKind::sin && !regression)
    fail_input(
        "data.target = \"{}\" does not apply to sin, which has real-valued targets; "
        "expected \"regression\"",
        target_name(spec.target));
  if (spec.dataset == DatasetKind::npy) {
    if (!regression) return;
    if (spec.subset != SubsetKind::first)
      fail_input(
          "data.subset = \"{}\" needs class labels, and data.target = \"regression\" reads "
          "y_train.npy as real-valued targets; use data.subset = \"first\"",
          subset_name(spec.subset));
    if (!spec.classes.empty())
      fail_input(
          "data.classes = [{}] needs class labels, and data.target = \"regression\" reads "
          "y_train.npy as real-valued targets; remove data.classes",
          fmt::join(spec.classes, ", "));
    return;
  }
  if (spec.dataset != DatasetKind::sin && regression)
    fail_input(
        "data.target = \"regression\" applies only to sin and npy; {} has classes: expected "
        "\"class\", \"onehot\" or \"binary\"",
        name);
}

}  // namespace

const char* dataset_name(DatasetKind kind) {
  return name_of(kind, kDatasetNames);
}
DatasetKind parse_dataset(const std::string& name) {
  return parse_name("data.dataset", name, kDatasetNames);
}
const char* normalize_name(Normalize normalize) {
  return name_of(normalize, kNormalizeNames);
}
Normalize parse_normalize(const std::string& name) {
  return parse_name("data.normalize", name, kNormalizeNames);
}
const char* target_name(TargetKind target) {
  return name_of(target, kTargetNames);
}
TargetKind parse_target(const std::string& name) {
  return parse_name("data.target", name, kTargetNames);
}
const char* subset_name(SubsetKind subset) {
  return name_of(subset, kSubsetNames);
}
SubsetKind parse_subset(const std::string& name) {
  return parse_name("data.subset", name, kSubsetNames);
}

int dataset_class_count(const DataSpec& spec) {
  switch (spec.dataset) {
    case DatasetKind::fashion_mnist:
    case DatasetKind::mnist:
    case DatasetKind::cifar10:
      return 10;
    case DatasetKind::cifar100:
      return 100;
    case DatasetKind::gaussian:
      return spec.gaussian.classes;
    case DatasetKind::sin:
    case DatasetKind::npy:
      return 0;
  }
  return 0;
}

void validate_class_options(const DataSpec& spec, int class_count, const std::string& source) {
  if (spec.target == TargetKind::regression) return;
  check_class_list("data.classes", spec.classes, class_count, source);
  const int in_use = spec.classes.empty() ? class_count : int(spec.classes.size());
  if (in_use > 0 && spec.subset == SubsetKind::balanced && spec.train_size % in_use != 0) {
    const int below = spec.train_size / in_use * in_use;
    fail_input(
        "data.train_size = {} with data.subset = \"balanced\" must be a multiple of the "
        "{} classes in use (for instance {} or {})",
        spec.train_size, in_use, below > 0 ? below : in_use, below + in_use);
  }
  // positive_classes is ignored by the other targets: the configuration's default list must not
  // stand in the way of switching to class or one-hot targets.
  if (spec.target != TargetKind::binary) return;
  if (spec.positive_classes.empty())
    fail_input(
        "data.target = \"binary\" needs data.positive_classes: the class ids whose target "
        "is +1 (every other class gets -1)");
  check_class_list("data.positive_classes", spec.positive_classes, class_count, source);
  if (!spec.classes.empty())
    for (int id : spec.positive_classes)
      if (std::find(spec.classes.begin(), spec.classes.end(), id) == spec.classes.end())
        fail_input("data.positive_classes = [{}]: class {} is not in data.classes = [{}]",
                   fmt::join(spec.positive_classes, ", "), id, fmt::join(spec.classes, ", "));
  if (in_use > 0 && int(spec.positive_classes.size()) == in_use)
    fail_input("data.positive_classes = [{}] names every class in use, so no target would be -1",
               fmt::join(spec.positive_classes, ", "));
}

void validate(const DataSpec& spec) {
  const char* name = dataset_name(spec.dataset);
  if (is_synthetic(spec.dataset)) {
    validate_synthetic(spec);
    if (spec.dataset == DatasetKind::sin) validate_sin(spec.sin);
    if (spec.dataset == DatasetKind::gaussian) validate_gaussian(spec.gaussian);
  } else {
    if (spec.path.empty() && spec.dataset == DatasetKind::npy)
      fail_input(
          "data.path is required for npy: the folder holding x_train.npy and y_train.npy "
          "(and, for a test set, x_test.npy and y_test.npy)");
    if (spec.path.empty() && spec.dataset != DatasetKind::fashion_mnist)
      fail_input("data.path is required for {}: the directory holding its {} files", name,
                 spec.dataset == DatasetKind::mnist ? "IDX" : "binary");
    if (spec.train_size < 0)
      fail_input("data.train_size = {}: expected 0 (all) or a positive count", spec.train_size);
    if (spec.test_size < -1)
      fail_input("data.test_size = {}: expected -1 (all), 0 (no test set) or a positive count",
                 spec.test_size);
  }
  validate_target_kind(spec);
  validate_class_options(
      spec, spec.dataset == DatasetKind::npy ? kClassCountUnknown : dataset_class_count(spec),
      name);
}

}  // namespace condense
