#pragma once
// Layers without parameters that keep the sample's shape or only reinterpret it: the activation
// layer h = σ(z) and Flatten.
#include "condense/nn/activation.hpp"
#include "condense/nn/layer.hpp"

namespace condense {

template <class T>
class ActivationLayer final : public Layer<T> {
 public:
  ActivationLayer(std::string name, FeatureShape shape, Activation activation)
      : Layer<T>(std::move(name), shape, shape), activation_(activation) {}

  std::string describe() const override;
  std::string_view kind() const override { return layer_kind::activation; }
  const Activation& activation() const { return activation_; }
  // z: (N, F) → h: (N, F)
  void forward(ParameterStore<T>& store, const T* z, T* h, int N, bool same_input) override;
  // dh: (N, F) → dz: (N, F) = dh · σ'(z)
  void backward(ParameterStore<T>& store, const T* z, const T* h, const T* dh, T* dz,
                int N) override;

 private:
  Activation activation_;
};

// (N, C, H, W) → (N, C·H·W) in PyTorch's order; the memory is unchanged, so y is x.
template <class T>
class Flatten final : public Layer<T> {
 public:
  Flatten(std::string name, FeatureShape input)
      : Layer<T>(std::move(name), input, {int(input.size()), 1, 1}) {}

  std::string describe() const override;
  std::string_view kind() const override { return layer_kind::flatten; }
  bool is_view() const override { return true; }
  void forward(ParameterStore<T>&, const T*, T*, int, bool) override {}
  void backward(ParameterStore<T>&, const T*, const T*, const T*, T*, int) override {}
};

}  // namespace condense
