#include "condense/theory/correlation.hpp"

#include "condense/core/error.hpp"

namespace condense {

Matrix<double> cnn_correlation(const ConvGeometry& geometry, bool bias, const double* inputs,
                               const Matrix<double>& targets) {
  const ConvGeometry& g = geometry;
  if (g.in_channels <= 0 || g.kernel <= 0 || g.stride <= 0 || g.padding < 0 ||
      g.out_height() <= 0 || g.out_width() <= 0)
    fail_input(
        "the conv layer (C = {}, {}x{} input, kernel {}, stride {}, padding {}) has no "
        "output positions",
        g.in_channels, g.in_height, g.in_width, g.kernel, g.stride, g.padding);
  const int N = int(targets.rows()), K = int(targets.cols());
  if (N == 0) fail_input("the correlation Z needs at least one training sample");
  const int patch = g.patch_size(), L = g.positions(), d = patch + (bias ? 1 : 0);
  const std::size_t sample_size = std::size_t(g.in_channels) * g.in_height * g.in_width;

  // Zᵀ_k (d, L) = (1/N) Σ_i Y_ik P_i, accumulated per output from each sample's patch matrix.
  std::vector<Matrix<double>> transposed(std::size_t(K), Matrix<double>::Zero(d, L));
  Matrix<double> patches(patch, L);  // P_i: (K = C·k·k, L)
  for (int i = 0; i < N; ++i) {
    im2col(g, inputs + std::size_t(i) * sample_size, patches.data());
    for (int k = 0; k < K; ++k) {
      const double y = targets(i, k);
      if (y == 0.0) continue;
      transposed[std::size_t(k)].topRows(patch) += y * patches;
      if (bias) transposed[std::size_t(k)].row(patch).array() += y;
    }
  }
  Matrix<double> Z(std::int64_t(K) * L, d);  // (K·L, d)
  for (int k = 0; k < K; ++k)
    Z.middleRows(std::int64_t(k) * L, L) = transposed[std::size_t(k)].transpose() / double(N);
  return Z;
}

Matrix<double> fc_correlation(int features, bool bias, const double* inputs,
                              const Matrix<double>& targets) {
  const int N = int(targets.rows()), K = int(targets.cols());
  if (N == 0) fail_input("the correlation Z needs at least one training sample");
  if (features <= 0) fail_input("the FC layer has {} input features", features);
  const ConstMatrixMap<double> x(inputs, N, features);  // (N, F)
  Matrix<double> Z(K, features + (bias ? 1 : 0));       // (K, d)
  Z.leftCols(features) = targets.transpose() * x / double(N);
  if (bias) Z.col(features) = targets.colwise().sum().transpose() / double(N);
  return Z;
}

Matrix<double> effective_targets_mse(const double* values, int N, int K, bool center) {
  Matrix<double> Y = ConstMatrixMap<double>(values, N, K);  // (N, K)
  if (center && N > 0) Y.rowwise() -= Y.colwise().mean();
  return Y;
}

Matrix<double> effective_targets_cross_entropy(const int* labels, int N, int classes, bool center) {
  if (classes < 2) fail_input("cross-entropy targets need at least 2 classes, got {}", classes);
  Matrix<double> Y = Matrix<double>::Constant(N, classes, -1.0 / classes);  // (N, K)
  for (int i = 0; i < N; ++i) {
    if (labels[i] < 0 || labels[i] >= classes)
      fail_input("sample {} has class {}, outside 0..{}", i, labels[i], classes - 1);
    Y(i, labels[i]) += 1.0;
  }
  if (center && N > 0) Y.rowwise() -= Y.colwise().mean();
  return Y;
}

}  // namespace condense
