#pragma once
// Fully-connected layer, as PyTorch's nn.Linear: y = x Wᵀ + b, with x the flattened input
// (channel, row, column order). The two-layer CNN's readout (docs/science.md §2.1) is the Linear
// layer that reads every position and channel of the conv layer's output.
#include "condense/nn/layer.hpp"

namespace condense {

// y (N×out) = x (N×in) Wᵀ, by fixed blocks of rows; shared with ResidualBlock.
template <class T>
void linear_forward(const T* x, const T* weight, const T* bias, T* y, int N, int in, int out);
// dW (out×in) += dyᵀ x, db += Σ_n dy, dx (N×in) = dy W (skipped when dx is null).
template <class T>
void linear_backward(const T* x, const T* weight, const T* dy, T* dweight, T* dbias, T* dx, int N,
                     int in, int out);

template <class T>
class Linear final : public Layer<T> {
 public:
  Linear(std::string name, FeatureShape input, int out_features, bool bias);

  std::string describe() const override;
  std::string_view kind() const override { return layer_kind::linear; }
  bool has_bias() const { return bias_; }
  int weight_id() const { return weight_id_; }
  int bias_id() const { return bias_id_; }
  void declare(ParameterStore<T>& store) override;
  // x: (N, in) → y: (N, out)
  void forward(ParameterStore<T>& store, const T* x, T* y, int N, bool same_input) override;
  // dy: (N, out) → dW: (out, in) +=, db: (out) +=, dx: (N, in) =
  void backward(ParameterStore<T>& store, const T* x, const T* y, const T* dy, T* dx,
                int N) override;

 private:
  bool bias_;
  int weight_id_ = -1, bias_id_ = -1;
};

}  // namespace condense
