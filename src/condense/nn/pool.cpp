#include "condense/nn/pool.hpp"

#include <cmath>

#include "condense/core/error.hpp"
#include "condense/core/parallel.hpp"

namespace condense {

template <class T>
Pool2d<T>::Pool2d(std::string name, FeatureShape input, PoolKind kind, int kernel, int stride)
    : Layer<T>(std::move(name), input, {}), kind_(kind), kernel_(kernel), stride_(stride) {
  if (kernel <= 0 || stride <= 0)
    fail_input("{}: pooling kernel and stride must be at least 1, got {} and {}", this->name_,
               kernel, stride);
  if (input.height < kernel || input.width < kernel)
    fail_input("{}: pooling kernel {} is larger than its input {}x{}", this->name_, kernel,
               input.height, input.width);
  this->output_ = {input.channels, (input.height - kernel) / stride + 1,
                   (input.width - kernel) / stride + 1};
}

template <class T>
std::string Pool2d<T>::describe() const {
  return fmt::format("{}: {}Pool2d(kernel {}, stride {}) {} -> {}", this->name_,
                     kind_ == PoolKind::max ? "Max" : "Avg", kernel_, stride_,
                     to_string(this->input_), to_string(this->output_));
}

template <class T>
std::size_t Pool2d<T>::cache_bytes(int batch) const {
  return kind_ == PoolKind::max
             ? std::size_t(batch) * std::size_t(this->output_.size()) * sizeof(argmax_[0])
             : 0;
}

template <class T>
void Pool2d<T>::reserve(int batch) {
  if (kind_ == PoolKind::max) argmax_.assign(std::size_t(batch) * this->output_.size(), 0);
}

template <class T>
void Pool2d<T>::forward(ParameterStore<T>&, const T* x, T* y, int N, bool) {
  if (kind_ == PoolKind::max && argmax_.size() < std::size_t(N) * this->output_.size()) reserve(N);
  const int H = this->input_.height, W = this->input_.width;
  const int Ho = this->output_.height, Wo = this->output_.width;
  const T scale = T(1) / T(kernel_ * kernel_);
  parallel_for(std::int64_t(N) * this->input_.channels, [&](std::int64_t nc) {
    const T* in = x + nc * H * W;
    T* out = y + nc * Ho * Wo;
    std::int32_t* arg = kind_ == PoolKind::max ? argmax_.data() + nc * Ho * Wo : nullptr;
    const std::int32_t channel_offset = std::int32_t((nc % this->input_.channels) * H * W);
    for (int oh = 0; oh < Ho; ++oh) {
      for (int ow = 0; ow < Wo; ++ow) {
        const int h0 = oh * stride_, w0 = ow * stride_;
        if (kind_ == PoolKind::average) {
          T sum = 0;
          for (int i = 0; i < kernel_; ++i)
            for (int j = 0; j < kernel_; ++j) sum += in[(h0 + i) * W + w0 + j];
          out[oh * Wo + ow] = sum * scale;
        } else {
          // The first maximum in row-major window order wins, as in PyTorch; NaN propagates.
          int best = h0 * W + w0;
          for (int i = 0; i < kernel_; ++i)
            for (int j = 0; j < kernel_; ++j) {
              const int at = (h0 + i) * W + w0 + j;
              if (in[at] > in[best] || std::isnan(in[at])) best = at;
            }
          out[oh * Wo + ow] = in[best];
          arg[oh * Wo + ow] = channel_offset + best;
        }
      }
    }
  }, N * this->input_.size());
}

template <class T>
void Pool2d<T>::backward(ParameterStore<T>&, const T*, const T*, const T* dy, T* dx, int N) {
  if (!dx) return;
  const int H = this->input_.height, W = this->input_.width;
  const int Ho = this->output_.height, Wo = this->output_.width;
  const T scale = T(1) / T(kernel_ * kernel_);
  const std::int64_t sample = this->input_.size();
  parallel_for(std::int64_t(N) * this->input_.channels, [&](std::int64_t nc) {
    T* din = dx + nc * H * W;
    std::fill(din, din + H * W, T(0));
    const T* dout = dy + nc * Ho * Wo;
    if (kind_ == PoolKind::average) {
      for (int oh = 0; oh < Ho; ++oh)
        for (int ow = 0; ow < Wo; ++ow)
          for (int i = 0; i < kernel_; ++i)
            for (int j = 0; j < kernel_; ++j)
              din[(oh * stride_ + i) * W + ow * stride_ + j] += dout[oh * Wo + ow] * scale;
    } else {
      const std::int32_t* arg = argmax_.data() + nc * Ho * Wo;
      T* dsample = dx + (nc / this->input_.channels) * sample;
      for (int o = 0; o < Ho * Wo; ++o) dsample[arg[o]] += dout[o];
    }
  }, N * this->input_.size());
}

template class Pool2d<float>;
template class Pool2d<double>;

}  // namespace condense
