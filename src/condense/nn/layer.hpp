#pragma once
// The interface every layer implements. A layer maps a batch x: (N, in) to y: (N, out), where in
// and out are FeatureShapes; the model owns x and y and hands them back to backward. Whatever
// else backward needs is kept in the layer's own cache, apart from the parameters.
//
// Conventions (docs/conventions.md, "Layers"): backward *adds* parameter gradients into the store's
// gradient buffer (dW += ...), and *assigns* the input gradient dx, which is null when the input
// needs none (the first layer). Gradients are plain dL/dθ.
#include <string>
#include <string_view>

#include "condense/core/types.hpp"
#include "condense/nn/parameters.hpp"

namespace condense {

// What a layer is (Layer::kind), for code that recognises a sequence of layers: the model's fused
// passes (nn/model.cpp) and the models the theory covers (theory/prediction.cpp). Code that looks
// for a sequence names every layer of it, so a layer of a new kind is never taken for another.
namespace layer_kind {
inline constexpr std::string_view conv2d = "conv2d";
inline constexpr std::string_view activation = "activation";
inline constexpr std::string_view pool2d = "pool2d";
inline constexpr std::string_view flatten = "flatten";
inline constexpr std::string_view linear = "linear";
inline constexpr std::string_view residual = "residual";
}  // namespace layer_kind

template <class T>
class Layer {
 public:
  Layer(std::string name, FeatureShape input, FeatureShape output)
      : name_(std::move(name)), input_(input), output_(output) {}
  virtual ~Layer() = default;
  Layer(const Layer&) = delete;
  Layer& operator=(const Layer&) = delete;

  const std::string& name() const { return name_; }  // "conv1", "fc2", "tanh1", "pool1"
  FeatureShape input_shape() const { return input_; }
  FeatureShape output_shape() const { return output_; }
  virtual std::string describe() const = 0;   // one line, e.g. "conv1: Conv2d(3 -> 32, k=3, ...)"
  virtual std::string_view kind() const = 0;  // one of layer_kind

  // Adds the layer's tensors to the store (before it allocates) and remembers their ids.
  virtual void declare(ParameterStore<T>& store) {}
  // Allocates caches for batches of up to `batch` samples. Called again when that grows.
  virtual void reserve(int batch) {}
  // The bytes the layer's caches take for batches of `batch` samples at the current thread count
  // (reserve's, and any made on first use): the memory estimate of a run adds them up before
  // anything is allocated. Keep it beside reserve, and in step with it.
  virtual std::size_t cache_bytes(int batch) const { return 0; }
  // True when y is x itself (Flatten): the model then passes buffers through unchanged.
  virtual bool is_view() const { return false; }

  // x: (N, in) → y: (N, out). `same_input` says x holds the same values as at the previous call
  // (full-batch training), so work that depends on x alone may be reused.
  virtual void forward(ParameterStore<T>& store, const T* x, T* y, int N, bool same_input) = 0;
  // dy: (N, out) → dθ += ..., dx: (N, in) = ... (skipped when dx is null).
  virtual void backward(ParameterStore<T>& store, const T* x, const T* y, const T* dy, T* dx,
                        int N) = 0;

 protected:
  std::string name_;
  FeatureShape input_;
  FeatureShape output_;
};

}  // namespace condense
