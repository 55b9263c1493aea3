#pragma once
// Scalar-generic array aliases. Every buffer is row-major, like PyTorch's default layout, so that a
// (N, C, H, W) batch is N contiguous (C, H, W) samples.
#include <cstdint>
#include <string>

#include <Eigen/Dense>

namespace condense {

template <class T>
using Matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class T>
using Vector = Eigen::Matrix<T, Eigen::Dynamic, 1>;
template <class T>
using MatrixMap = Eigen::Map<Matrix<T>>;
template <class T>
using ConstMatrixMap = Eigen::Map<const Matrix<T>>;
template <class T>
using VectorMap = Eigen::Map<Vector<T>>;
template <class T>
using ConstVectorMap = Eigen::Map<const Vector<T>>;

// The shape of one sample's features: (C, H, W) for images and feature maps, (F, 1, 1) for the
// vectors of fully-connected layers. Flattening keeps the memory order (channel, row, column).
struct FeatureShape {
  int channels = 0;
  int height = 1;
  int width = 1;

  std::int64_t size() const { return std::int64_t{channels} * height * width; }
  bool operator==(const FeatureShape&) const = default;
};

std::string to_string(const FeatureShape& shape);

enum class Dtype { float32, float64 };

const char* dtype_name(Dtype dtype);
Dtype parse_dtype(const std::string& name);  // throws InputError naming the value

}  // namespace condense
