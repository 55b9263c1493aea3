#pragma once
// Residual fully-connected block h ↦ h + σ(W h + b) for equal input and output widths, the block
// of the residual FC nets of Zhou et al. (2022). Its weights are named like a Linear layer's.
#include <vector>

#include "condense/nn/activation.hpp"
#include "condense/nn/layer.hpp"

namespace condense {

template <class T>
class ResidualBlock final : public Layer<T> {
 public:
  ResidualBlock(std::string name, FeatureShape input, int width, Activation activation, bool bias);

  std::string describe() const override;
  std::string_view kind() const override { return layer_kind::residual; }
  const Activation& activation() const { return activation_; }
  bool has_bias() const { return bias_; }
  void declare(ParameterStore<T>& store) override;
  void reserve(int batch) override;
  std::size_t cache_bytes(int batch) const override;
  // h: (N, F) → y: (N, F) = h + σ(h Wᵀ + b)
  void forward(ParameterStore<T>& store, const T* h, T* y, int N, bool same_input) override;
  // dy: (N, F) → dW: (F, F) +=, db: (F) +=, dh: (N, F) = dy + (dy·σ'(z)) W
  void backward(ParameterStore<T>& store, const T* h, const T* y, const T* dy, T* dh,
                int N) override;

 private:
  Activation activation_;
  bool bias_;
  int weight_id_ = -1, bias_id_ = -1;
  std::vector<T> z_;   // cache: pre-activations (N, F)
  std::vector<T> s_;   // cache: σ(z) (N, F)
  std::vector<T> dz_;  // scratch (N, F)
};

}  // namespace condense
