#pragma once
// Every dataset condense trains on, read or drawn into memory in one call: the image datasets of
// docs/science.md §3 (Fashion-MNIST, MNIST, CIFAR-10/100 in their standard binary formats), the sin
// regression task of the FC experiments (docs/science.md §3.5), Gaussian images with teacher
// labels, and a researcher's own numpy arrays (x_train.npy, y_train.npy, ...). docs/data.md gives
// the file formats, options and formulas.
#include <cstdint>
#include <string>
#include <vector>

#include "condense/core/types.hpp"

namespace condense {

enum class DatasetKind { fashion_mnist, mnist, cifar10, cifar100, sin, gaussian, npy };
enum class Normalize { none, standard, per_channel };
enum class TargetKind { class_index, onehot, binary, regression };
enum class SubsetKind { first, balanced };

// Names as they appear in configuration files; parse_* throws InputError listing the accepted
// names.
const char* dataset_name(DatasetKind kind);  // "fashion-mnist", "mnist", "cifar10", ...
DatasetKind parse_dataset(const std::string& name);
const char* normalize_name(Normalize normalize);  // "none", "standard", "per-channel"
Normalize parse_normalize(const std::string& name);
const char* target_name(TargetKind target);  // "class", "onehot", "binary", "regression"
TargetKind parse_target(const std::string& name);
const char* subset_name(SubsetKind subset);  // "first", "balanced"
SubsetKind parse_subset(const std::string& name);

// Where the default dataset lives once the Debian package dataset-fashion-mnist is installed.
inline constexpr const char* kFashionMnistDefaultPath = "/usr/share/datasets/fashion-mnist";

// y = Σ_{k=1..dim} amplitude·sin(frequency·x_k + phase), x_k ~ U[low, high] i.i.d.
struct SinSpec {
  int dim = 5;
  double amplitude = 3.5, frequency = 5.0, phase = 1.0, low = -4.0, high = 2.0;
};

// Images with N(0, 1) pixels. labels = "teacher": argmax_c (T x)_c for a random N(0, 1) matrix
// T (classes × C·H·W); "random": uniform over the classes, independent of x.
struct GaussianSpec {
  FeatureShape shape{1, 8, 8};
  int classes = 2;
  std::string labels = "teacher";
};

struct DataSpec {
  DatasetKind dataset = DatasetKind::fashion_mnist;
  std::string path;      // "" → fashion-mnist reads kFashionMnistDefaultPath; others need one
  int train_size = 500;  // 0 = all (balanced: the largest balanced set)
  int test_size = 0;     // 0 = no test set, -1 = all
  SubsetKind subset = SubsetKind::first;
  std::vector<int> classes;  // keep only these classes (empty = all), re-indexed 0..len-1 in order
  Normalize normalize = Normalize::standard;
  TargetKind target = TargetKind::class_index;
  std::vector<int> positive_classes;  // binary: +1 for these original class ids, −1 otherwise
  SinSpec sin;
  GaussianSpec gaussian;
};

struct DataSplit {
  FeatureShape shape;                // per sample (C, H, W); sin: (dim, 1, 1)
  int size = 0;                      // N
  std::vector<double> inputs;        // (N, C, H, W), normalized
  std::vector<int> labels;           // (N) re-indexed class when target is class_index, else empty
  std::vector<double> targets;       // (N, K) for onehot/binary/regression, else empty
  int target_width = 0;              // K: model outputs these targets need
  std::vector<int> original_labels;  // (N) dataset class ids; empty for regression
};

struct Data {
  DataSplit train, test;          // test.size == 0 when there is no test set
  int classes = 0;                // classes in use (after the class subset); 0 for regression
  std::string description;        // one line for logs and reports
  std::vector<double> mean, std;  // normalization statistics: 1 (standard), C (per-channel), 0
};

// The number of classes a dataset has before any class subset (0 for sin, and for npy, whose
// classes come from its labels file: max label + 1).
int dataset_class_count(const DataSpec& spec);

// Checks everything that can be checked without reading files; InputError names the key
// ("data.train_size", ...) and what was expected. For npy, the checks that need the class count
// (data.classes in range, data.positive_classes) are made again once its labels are read.
void validate(const DataSpec& spec);

// The checks of the options that name classes (data.classes, a balanced data.train_size,
// data.positive_classes) against the dataset's `class_count`; `source` names where that count
// comes from in messages ("cifar10", "/data/mine/y_train.npy"). Part of validate().
void validate_class_options(const DataSpec& spec, int class_count, const std::string& source);

// Reads or draws the data. Every random draw (balanced subset, synthetic data) comes from
// Rng::stream(seed, ·), so the same seed gives the same data on every machine.
Data load_data(const DataSpec& spec, std::uint64_t seed);

}  // namespace condense
