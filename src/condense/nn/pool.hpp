#pragma once
// 2-D average and max pooling without padding, floor mode, as PyTorch's nn.AvgPool2d and
// nn.MaxPool2d. The model uses kernel 2, stride 2 ("avg2", "max2"); any kernel and stride work.
#include <cstdint>
#include <vector>

#include "condense/nn/layer.hpp"

namespace condense {

enum class PoolKind { average, max };

template <class T>
class Pool2d final : public Layer<T> {
 public:
  Pool2d(std::string name, FeatureShape input, PoolKind kind, int kernel, int stride);

  std::string describe() const override;
  std::string_view kind() const override { return layer_kind::pool2d; }
  void reserve(int batch) override;
  std::size_t cache_bytes(int batch) const override;
  // x: (N, C, H, W) → y: (N, C, Ho, Wo)
  void forward(ParameterStore<T>& store, const T* x, T* y, int N, bool same_input) override;
  // dy: (N, C, Ho, Wo) → dx: (N, C, H, W)
  void backward(ParameterStore<T>& store, const T* x, const T* y, const T* dy, T* dx,
                int N) override;

 private:
  PoolKind kind_;
  int kernel_, stride_;
  // Cache for max pooling: the input index (within the sample) of each output's maximum.
  std::vector<std::int32_t> argmax_;  // (N, C, Ho, Wo)
};

}  // namespace condense
