#include "condense/nn/elementwise.hpp"

#include <fmt/format.h>

#include "condense/core/parallel.hpp"

namespace condense {

namespace {
constexpr std::int64_t kElementBlock = 8192;
}

template <class T>
std::string ActivationLayer<T>::describe() const {
  return fmt::format("{}: {} {}", this->name_, activation_.name(), to_string(this->input_));
}

template <class T>
void ActivationLayer<T>::forward(ParameterStore<T>&, const T* z, T* h, int N, bool) {
  parallel_blocks(N * this->input_.size(), kElementBlock, [&](std::int64_t begin, std::int64_t end) {
    activation_forward(activation_, z + begin, h + begin, std::size_t(end - begin));
  }, 16 * N * this->input_.size());
}

template <class T>
void ActivationLayer<T>::backward(ParameterStore<T>&, const T* z, const T* h, const T* dh, T* dz,
                                  int N) {
  if (!dz) return;
  parallel_blocks(N * this->input_.size(), kElementBlock, [&](std::int64_t begin, std::int64_t end) {
    activation_backward(activation_, z + begin, h + begin, dh + begin, dz + begin,
                        std::size_t(end - begin));
  }, 4 * N * this->input_.size());
}

template <class T>
std::string Flatten<T>::describe() const {
  return fmt::format("{}: Flatten {} -> ({})", this->name_, to_string(this->input_),
                     this->output_.channels);
}

template class ActivationLayer<float>;
template class ActivationLayer<double>;
template class Flatten<float>;
template class Flatten<double>;

}  // namespace condense
