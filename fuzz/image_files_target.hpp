#pragma once
// The image-file targets (IDX, CIFAR): every record of opened files read, as a dataset load does.
#include <cstdint>
#include <memory>
#include <numeric>
#include <vector>

#include "condense/data/image_files.hpp"

namespace condense::fuzz {

inline void read_every_record(const std::unique_ptr<ImageFiles>& files) {
  std::vector<std::int64_t> indices(std::size_t(files->records()));
  std::iota(indices.begin(), indices.end(), 0);
  std::vector<double> pixels(indices.size() * std::size_t(files->shape.size()));
  files->read_pixels(indices, pixels.data());
}

}  // namespace condense::fuzz
