#include "condense/nn/residual.hpp"

#include "condense/core/error.hpp"
#include "condense/nn/linear.hpp"

namespace condense {

template <class T>
ResidualBlock<T>::ResidualBlock(std::string name, FeatureShape input, int width,
                                Activation activation, bool bias)
    : Layer<T>(std::move(name), input, {width, 1, 1}), activation_(activation), bias_(bias) {
  if (input.size() != width)
    fail_input("{}: a residual block needs equal widths, but its input has {} features and its "
               "width is {}",
               this->name_, input.size(), width);
}

template <class T>
std::string ResidualBlock<T>::describe() const {
  return fmt::format("{}: Residual(h + {}(Linear({} -> {}, bias {})))", this->name_,
                     activation_.name(), this->input_.size(), this->output_.channels,
                     bias_ ? "yes" : "no");
}

template <class T>
void ResidualBlock<T>::declare(ParameterStore<T>& store) {
  const int F = this->output_.channels;
  weight_id_ = store.add(this->name_, false, {F, F}, F, F);
  if (bias_) bias_id_ = store.add(this->name_, true, {F}, F, F);
}

template <class T>
std::size_t ResidualBlock<T>::cache_bytes(int batch) const {
  return 3 * std::size_t(batch) * std::size_t(this->output_.channels) * sizeof(T);
}

template <class T>
void ResidualBlock<T>::reserve(int batch) {
  const std::size_t size = std::size_t(batch) * std::size_t(this->output_.channels);
  z_.assign(size, T(0));
  s_.assign(size, T(0));
  dz_.assign(size, T(0));
}

template <class T>
void ResidualBlock<T>::forward(ParameterStore<T>& store, const T* h, T* y, int N, bool) {
  const int F = this->output_.channels;
  const std::size_t size = std::size_t(N) * F;
  if (z_.size() < size) reserve(N);
  linear_forward(h, store.value(weight_id_), bias_ ? store.value(bias_id_) : nullptr, z_.data(), N,
                 F, F);
  activation_forward(activation_, z_.data(), s_.data(), size);
  for (std::size_t i = 0; i < size; ++i) y[i] = h[i] + s_[i];
}

template <class T>
void ResidualBlock<T>::backward(ParameterStore<T>& store, const T* h, const T*, const T* dy, T* dh,
                                int N) {
  const int F = this->output_.channels;
  const std::size_t size = std::size_t(N) * F;
  activation_backward(activation_, z_.data(), s_.data(), dy, dz_.data(), size);
  linear_backward(h, store.value(weight_id_), dz_.data(), store.grad(weight_id_),
                  bias_ ? store.grad(bias_id_) : nullptr, dh, N, F, F);
  if (dh)
    for (std::size_t i = 0; i < size; ++i) dh[i] += dy[i];
}

template class ResidualBlock<float>;
template class ResidualBlock<double>;

}  // namespace condense
