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
  virtual std::string describe() const = 0;  // one line, e.g. "conv1: Conv2d(3 -> 32, k=3, ...)"

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
