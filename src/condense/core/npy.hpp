#pragma once
// NPY files (numpy's format, version 1.0): what numpy, PyTorch and every plotting script read.
// Only little-endian float32/float64/int64 arrays in C order are written and read.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "condense/core/atomic_file.hpp"

namespace condense {

enum class NpyType { float32, float64, int64 };

struct NpyArray {
  NpyType type = NpyType::float64;
  std::vector<std::int64_t> shape;
  std::vector<double> values;  // converted to double on reading; C order

  std::int64_t size() const;
};

// Writes an array atomically (core/atomic_file.hpp). `values` are stored as `type`.
template <class T>
void write_npy(const std::filesystem::path& path, const T* values,
               const std::vector<std::int64_t>& shape, NpyType type, Flush flush = Flush::now);

template <class T>
void write_npy(const std::filesystem::path& path, const T* values,
               const std::vector<std::int64_t>& shape,
               Flush flush = Flush::now);  // stored in T's own type

// Reads an NPY file; throws InputError naming the path if the header, dtype or size is wrong.
NpyArray read_npy(const std::filesystem::path& path);

std::string shape_string(const std::vector<std::int64_t>& shape);

}  // namespace condense
