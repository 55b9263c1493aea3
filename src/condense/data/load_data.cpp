// load_data: reads or draws the samples, then normalizes and encodes targets the same way for
// every dataset. The steps and their formulas are in docs/data.md.
#include <fmt/ranges.h>

#include <filesystem>
#include <numeric>

#include "condense/core/error.hpp"
#include "condense/data/dataset.hpp"
#include "condense/data/image_files.hpp"
#include "condense/data/normalization.hpp"
#include "condense/data/npy_dataset.hpp"
#include "condense/data/selection.hpp"
#include "condense/data/synthetic.hpp"
#include "condense/data/targets.hpp"

namespace condense {

namespace {

// Rng::stream indices of the data's random draws. They start far from the small indices the
// weight initialization uses (one per tensor), so that data and weights drawn from the same seed
// are independent; each purpose has its own stream, so that changing test_size, say, leaves the
// training set as it was.
constexpr std::uint64_t kDataStreams = 0x6461746100000000ULL;  // "data"
constexpr std::uint64_t kBalancedSubsetStream = kDataStreams + 1;
constexpr std::uint64_t kSinTrainStream = kDataStreams + 2;
constexpr std::uint64_t kSinTestStream = kDataStreams + 3;
constexpr std::uint64_t kTeacherStream = kDataStreams + 4;
constexpr std::uint64_t kGaussianTrainStream = kDataStreams + 5;
constexpr std::uint64_t kGaussianTestStream = kDataStreams + 6;

constexpr double kPixelScale = 255.0;

// The class ids in use: data.classes, or every class of the dataset (`class_count` of them).
std::vector<int> classes_in_use(const DataSpec& spec, int class_count) {
  if (!spec.classes.empty()) return spec.classes;
  std::vector<int> all(static_cast<std::size_t>(class_count));
  std::iota(all.begin(), all.end(), 0);
  return all;
}

// The pixels (in [0, 1]) and labels of the chosen records.
DataSplit read_records(const ImageFiles& files, const std::vector<std::int64_t>& records) {
  DataSplit split;
  split.shape = files.shape;
  split.size = int(records.size());
  split.inputs.resize(records.size() * std::size_t(files.shape.size()));
  files.read_pixels(records, split.inputs.data());
  for (double& value : split.inputs) value /= kPixelScale;
  for (std::int64_t record : records) split.original_labels.push_back(files.labels[record]);
  return split;
}

void load_images(const DataSpec& spec, std::uint64_t seed, Data& data) {
  const bool default_path = spec.path.empty();
  const std::string directory = default_path ? kFashionMnistDefaultPath : spec.path;
  const std::string hint = default_path
                               ? "; the default Fashion-MNIST comes from the Debian package "
                                 "dataset-fashion-mnist: run scripts/setup.sh, or set data.path"
                               : "";
  const bool idx = spec.dataset == DatasetKind::fashion_mnist || spec.dataset == DatasetKind::mnist;
  const int class_count = dataset_class_count(spec);
  const std::vector<int> classes = classes_in_use(spec, class_count);
  const auto open = [&](SplitKind split) {
    return idx ? open_idx(directory, split, class_count, hint)
               : open_cifar(directory, split, class_count, hint);
  };
  const auto available = [&](const ImageFiles& files, SplitKind split) {
    return fmt::format(
        "{} images{} in {}", split_name(split),
        spec.classes.empty() ? "" : fmt::format(" of classes {}", fmt::join(classes, ", ")),
        files.source);
  };

  const auto train_files = open(SplitKind::train);
  const auto train_candidates = records_of_classes(train_files->labels, classes);
  std::vector<std::int64_t> train_records;
  if (spec.subset == SubsetKind::first) {
    train_records = take_first(train_candidates, spec.train_size, "data.train_size",
                               available(*train_files, SplitKind::train));
  } else {
    Rng rng = Rng::stream(seed, kBalancedSubsetStream);
    train_records = take_balanced(train_files->labels, train_candidates, classes, spec.train_size,
                                  rng, available(*train_files, SplitKind::train));
  }
  data.train = read_records(*train_files, train_records);

  if (spec.test_size == 0) return;
  const auto test_files = open(SplitKind::test);
  if (!(test_files->shape == train_files->shape))
    fail_input("{} has images of shape {} but {} has {}; expected one shape for both",
               test_files->source, to_string(test_files->shape), train_files->source,
               to_string(train_files->shape));
  const auto test_records = take_first(records_of_classes(test_files->labels, classes),
                                       spec.test_size == -1 ? 0 : spec.test_size, "data.test_size",
                                       available(*test_files, SplitKind::test));
  data.test = read_records(*test_files, test_records);
}

// `class_count`: the classes of the dataset before any class subset.
std::string describe(const DataSpec& spec, const Data& data, int class_count) {
  const FeatureShape& shape = data.train.shape;
  const bool npy = spec.dataset == DatasetKind::npy;
  std::string text = fmt::format("{}{}: {} train / {} test", dataset_name(spec.dataset),
                                 npy ? ": " + spec.path : "", data.train.size, data.test.size);
  if (spec.dataset == DatasetKind::sin) {
    const SinSpec& sin = spec.sin;
    return text + fmt::format(
                      ", y = sum_(k=1..{}) {}*sin({}*x_k + {}), x_k ~ U[{}, {}], raw "
                      "inputs (normalization does not apply to sin), regression targets",
                      sin.dim, sin.amplitude, sin.frequency, sin.phase, sin.low, sin.high);
  }
  text += fmt::format(", {}x{}x{}", shape.channels, shape.height, shape.width);
  if (spec.target == TargetKind::regression)
    text += fmt::format(", {} real-valued target{} per sample", data.train.target_width,
                        data.train.target_width == 1 ? "" : "s");
  else if (spec.classes.empty())
    text += fmt::format(", {} classes", data.classes);
  else
    text += fmt::format(", classes {} of {}", fmt::join(spec.classes, ","), class_count);
  if (spec.dataset == DatasetKind::gaussian)
    text += fmt::format(" ({} labels)", spec.gaussian.labels);
  if (spec.subset == SubsetKind::balanced) text += ", class-balanced subset";
  if (spec.normalize == Normalize::none)
    text += spec.dataset == DatasetKind::gaussian || npy ? ", raw inputs" : ", inputs x/255";
  else
    text += fmt::format(", {} normalization", normalize_name(spec.normalize));
  text += fmt::format(", {} targets", target_name(spec.target));
  if (spec.target == TargetKind::binary)
    text += fmt::format(" (+1: class {})", fmt::join(spec.positive_classes, ","));
  return text;
}

}  // namespace

Data load_data(const DataSpec& spec, std::uint64_t seed) {
  validate(spec);
  Data data;
  if (spec.dataset == DatasetKind::sin) {
    Rng train_rng = Rng::stream(seed, kSinTrainStream);
    data.train = draw_sin(spec.sin, spec.train_size, train_rng);
    Rng test_rng = Rng::stream(seed, kSinTestStream);
    data.test = draw_sin(spec.sin, spec.test_size, test_rng);
    data.description = describe(spec, data, 0);
    return data;
  }

  int class_count = dataset_class_count(spec);
  std::string normalization_source = fmt::format("the {} training set", dataset_name(spec.dataset));
  if (spec.dataset == DatasetKind::gaussian) {
    Rng teacher_rng = Rng::stream(seed, kTeacherStream);
    const std::vector<double> teacher = draw_teacher(spec.gaussian, teacher_rng);
    Rng train_rng = Rng::stream(seed, kGaussianTrainStream);
    data.train = draw_gaussian(spec.gaussian, teacher, spec.train_size, train_rng);
    Rng test_rng = Rng::stream(seed, kGaussianTestStream);
    data.test = draw_gaussian(spec.gaussian, teacher, spec.test_size, test_rng);
  } else if (spec.dataset == DatasetKind::npy) {
    Rng balanced_rng = Rng::stream(seed, kBalancedSubsetStream);
    NpyDataset arrays = load_npy_dataset(spec, balanced_rng);
    data.train = std::move(arrays.train);
    data.test = std::move(arrays.test);
    class_count = arrays.classes;
    normalization_source = (std::filesystem::path(spec.path) / kNpyTrainInputs).string();
  } else {
    load_images(spec, seed, data);
  }
  if (data.test.size == 0) data.test.shape = data.train.shape;

  const Normalization statistics =
      fit_normalization(spec.normalize, data.train.shape, data.train.inputs, normalization_source);
  apply_normalization(statistics, data.train.shape, data.train.inputs);
  apply_normalization(statistics, data.test.shape, data.test.inputs);
  data.mean = statistics.mean;
  data.std = statistics.std;

  if (spec.target == TargetKind::regression) {
    // npy: the targets were read with the inputs
    data.test.target_width = data.train.target_width;
  } else {
    const std::vector<int> classes = classes_in_use(spec, class_count);
    data.classes = int(classes.size());
    encode_targets(spec, classes, data.train);
    encode_targets(spec, classes, data.test);
  }
  data.description = describe(spec, data, class_count);
  return data;
}

}  // namespace condense
