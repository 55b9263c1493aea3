#pragma once
// One split (train or test) of an image dataset on disk. Opening it reads and checks every
// record's label and the files' headers and sizes; pixels are decoded later, only for the records
// the subset keeps.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "condense/core/types.hpp"

namespace condense {

struct ImageFiles {
  virtual ~ImageFiles() = default;

  FeatureShape shape;       // (C, H, W) of one image
  std::vector<int> labels;  // (records) class id of every record, in file order
  std::string source;       // the files, for messages: "/data/mnist/train-images-idx3-ubyte"

  std::int64_t records() const { return std::int64_t(labels.size()); }

  // pixels: (indices.size(), C, H, W), values 0..255. `indices` ascend.
  virtual void read_pixels(const std::vector<std::int64_t>& indices, double* pixels) const = 0;
};

enum class SplitKind { train, test };
const char* split_name(SplitKind split);  // "training", "test"

// IDX (MNIST, Fashion-MNIST) in `directory`: train-images-idx3-ubyte[.gz] and
// train-labels-idx1-ubyte[.gz], or the t10k- pair; `classes` bounds the label values. `hint` ends
// the message when the directory or a file is missing (how to install the data).
std::unique_ptr<ImageFiles> open_idx(const std::string& directory, SplitKind split, int classes,
                                     const std::string& hint);

// CIFAR binary in `directory`: data_batch_1..5.bin / test_batch.bin (CIFAR-10, classes = 10) or
// train.bin / test.bin (CIFAR-100, fine labels, classes = 100).
std::unique_ptr<ImageFiles> open_cifar(const std::string& directory, SplitKind split, int classes,
                                       const std::string& hint);

// Returns directory/name, or directory/name.gz when `gzip_allowed` and only that exists; throws
// InputError naming what is missing (the directory itself, or the file) followed by `hint`.
std::string find_data_file(const std::string& directory, const std::string& name, bool gzip_allowed,
                           const std::string& hint);

}  // namespace condense
