#include "condense/nn/linear.hpp"

#include "condense/core/error.hpp"
#include "condense/core/parallel.hpp"

namespace condense {

namespace {

// Block sizes of the products: fixed, so results do not depend on the thread count.
constexpr std::int64_t kRowBlock = 32;     // samples per block
constexpr std::int64_t kOutBlock = 64;     // rows of dW per tile
constexpr std::int64_t kInBlock = 1024;    // columns of dW per tile
constexpr std::int64_t kForwardRows = 256;  // samples per tile of y
constexpr std::int64_t kForwardCols = 256;  // outputs per tile of y

}  // namespace

template <class T>
void linear_forward(const T* x, const T* weight, const T* bias, T* y, int N, int in, int out) {
  // Tiles of (kForwardRows samples × kForwardCols outputs): each product packs its slices of x
  // and W once, where blocks of few samples would pack all of W again for every block.
  const std::int64_t row_tiles = (N + kForwardRows - 1) / kForwardRows;
  const std::int64_t col_tiles = (out + kForwardCols - 1) / kForwardCols;
  parallel_for(row_tiles * col_tiles, [&](std::int64_t tile) {
    const std::int64_t r0 = (tile / col_tiles) * kForwardRows, c0 = (tile % col_tiles) * kForwardCols;
    const Eigen::Index rows = Eigen::Index(std::min<std::int64_t>(kForwardRows, N - r0));
    const Eigen::Index cols = Eigen::Index(std::min<std::int64_t>(kForwardCols, out - c0));
    Eigen::Map<Matrix<T>, 0, Eigen::OuterStride<>> Y(y + r0 * out + c0, rows, cols,
                                                     Eigen::OuterStride<>(out));
    Y.noalias() = ConstMatrixMap<T>(x + r0 * in, rows, in) *
                  ConstMatrixMap<T>(weight + c0 * in, cols, in).transpose();
    if (bias) Y.rowwise() += ConstVectorMap<T>(bias + c0, cols).transpose();
  }, std::int64_t(N) * in * out);
}

template <class T>
void linear_backward(const T* x, const T* weight, const T* dy, T* dweight, T* dbias, T* dx, int N,
                     int in, int out) {
  ConstMatrixMap<T> X(x, N, in);
  ConstMatrixMap<T> dY(dy, N, out);
  // dW in tiles of (kOutBlock × kInBlock); each tile sums over all samples.
  const std::int64_t out_tiles = (out + kOutBlock - 1) / kOutBlock;
  const std::int64_t in_tiles = (in + kInBlock - 1) / kInBlock;
  parallel_for(out_tiles * in_tiles, [&](std::int64_t tile) {
    const std::int64_t r0 = (tile / in_tiles) * kOutBlock, c0 = (tile % in_tiles) * kInBlock;
    const Eigen::Index rows = Eigen::Index(std::min<std::int64_t>(kOutBlock, out - r0));
    const Eigen::Index cols = Eigen::Index(std::min<std::int64_t>(kInBlock, in - c0));
    Eigen::Map<Matrix<T>, 0, Eigen::OuterStride<>> dW(dweight + r0 * in + c0, rows, cols,
                                                      Eigen::OuterStride<>(in));
    dW.noalias() += dY.middleCols(r0, rows).transpose() * X.middleCols(c0, cols);
  }, std::int64_t(N) * in * out);
  if (dbias) {
    VectorMap<T> db(dbias, out);
    db += dY.colwise().sum().transpose();
  }
  if (dx) {
    ConstMatrixMap<T> W(weight, out, in);
    parallel_blocks(N, kRowBlock, [&](std::int64_t begin, std::int64_t end) {
      const Eigen::Index rows = Eigen::Index(end - begin);
      MatrixMap<T>(dx + begin * in, rows, in).noalias() =
          ConstMatrixMap<T>(dy + begin * out, rows, out) * W;
    }, std::int64_t(N) * in * out);
  }
}

template <class T>
Linear<T>::Linear(std::string name, FeatureShape input, int out_features, bool bias)
    : Layer<T>(std::move(name), input, {out_features, 1, 1}), bias_(bias) {
  if (out_features <= 0)
    fail_input("{}: width must be at least 1, got {}", this->name_, out_features);
  if (input.size() <= 0) fail_input("{}: input has no features", this->name_);
}

template <class T>
std::string Linear<T>::describe() const {
  return fmt::format("{}: Linear({} -> {}, bias {})", this->name_, this->input_.size(),
                     this->output_.channels, bias_ ? "yes" : "no");
}

template <class T>
void Linear<T>::declare(ParameterStore<T>& store) {
  const int in = int(this->input_.size()), out = this->output_.channels;
  weight_id_ = store.add(this->name_, false, {out, in}, in, out);
  if (bias_) bias_id_ = store.add(this->name_, true, {out}, in, out);
}

template <class T>
void Linear<T>::forward(ParameterStore<T>& store, const T* x, T* y, int N, bool) {
  linear_forward(x, store.value(weight_id_), bias_ ? store.value(bias_id_) : nullptr, y, N,
                 int(this->input_.size()), this->output_.channels);
}

template <class T>
void Linear<T>::backward(ParameterStore<T>& store, const T* x, const T*, const T* dy, T* dx,
                         int N) {
  linear_backward(x, store.value(weight_id_), dy, store.grad(weight_id_),
                  bias_ ? store.grad(bias_id_) : nullptr, dx, N, int(this->input_.size()),
                  this->output_.channels);
}

template class Linear<float>;
template class Linear<double>;
template void linear_forward<float>(const float*, const float*, const float*, float*, int, int,
                                    int);
template void linear_forward<double>(const double*, const double*, const double*, double*, int,
                                     int, int);
template void linear_backward<float>(const float*, const float*, const float*, float*, float*,
                                     float*, int, int, int);
template void linear_backward<double>(const double*, const double*, const double*, double*,
                                      double*, double*, int, int, int);

}  // namespace condense
