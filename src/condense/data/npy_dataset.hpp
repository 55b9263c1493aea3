#pragma once
// A researcher's own arrays as a dataset (data.dataset = "npy"): x_train.npy and y_train.npy, and
// optionally x_test.npy and y_test.npy, in the folder data.path. docs/data.md gives the shapes and
// dtypes accepted.
#include "condense/core/rng.hpp"
#include "condense/data/dataset.hpp"

namespace condense {

inline constexpr const char* kNpyTrainInputs = "x_train.npy";
inline constexpr const char* kNpyTrainTargets = "y_train.npy";
inline constexpr const char* kNpyTestInputs = "x_test.npy";
inline constexpr const char* kNpyTestTargets = "y_test.npy";

// The largest class count npy labels may give (max label + 1), as for data.gaussian_classes.
inline constexpr int kNpyMaxClasses = 1 << 16;

// Reads and checks the arrays and chooses the samples the spec asks for (`balanced_rng` draws a
// balanced subset). Fills each split's shape, size and raw inputs (not normalized), and
// original_labels (class targets) or targets and target_width (regression); `classes` is the
// class count of y_train.npy (max label + 1), 0 for regression. InputError names the file and
// what was expected.
struct NpyDataset {
  DataSplit train, test;
  int classes = 0;
};
NpyDataset load_npy_dataset(const DataSpec& spec, Rng& balanced_rng);

}  // namespace condense
