#pragma once
// A model assembled from a ModelSpec: the sequence of layers, the parameter store, and the
// buffers of one batch's forward and backward pass, allocated once for the largest batch.
#include <memory>
#include <vector>

#include "condense/nn/conv_readout.hpp"
#include "condense/nn/layer.hpp"
#include "condense/nn/model_spec.hpp"
#include "condense/nn/parameters.hpp"

namespace condense {

template <class T>
class Model {
 public:
  // Validates the description; throws InputError naming the layer and the value at fault.
  explicit Model(ModelSpec spec);

  // The bytes a model of `spec` takes to train on batches of `batch` samples: its parameters and
  // their gradients, every layer's output and cache, and the gradient buffers, at the current
  // thread count. Validates `spec` as the constructor does, and allocates nothing of that size.
  static std::size_t training_bytes(const ModelSpec& spec, int batch);
  // The parameter tensors of a model of `spec` (names, shapes, sizes), without allocating them.
  static std::vector<ParameterInfo> parameter_info(const ModelSpec& spec);
  // describe() of a model of `spec`, without allocating it.
  static std::string describe_spec(const ModelSpec& spec);
  // layer_kinds() of a model of `spec`, without allocating it.
  static std::vector<std::string_view> layer_kinds(const ModelSpec& spec);

  const ModelSpec& spec() const { return spec_; }
  ParameterStore<T>& parameters() { return parameters_; }
  const ParameterStore<T>& parameters() const { return parameters_; }
  const std::vector<std::unique_ptr<Layer<T>>>& layers() const { return layers_; }
  int outputs() const { return spec_.outputs; }
  FeatureShape input_shape() const { return spec_.input; }
  std::string describe() const;                       // one line per layer
  std::vector<std::string_view> layer_kinds() const;  // Layer::kind of every layer, in order

  // Allocates the buffers of batches of up to `batch` samples; forward does it when needed.
  void reserve(int batch);
  // The bytes reserve(batch) allocates, plus the parameters and their gradients.
  std::size_t memory_bytes(int batch) const;

  // x: (N, C, H, W) → f: (N, outputs), valid until the next forward. `same_input` promises x holds
  // the values of the previous call (full-batch training), so the first layer's patches are kept.
  const T* forward(const T* x, int N, bool same_input = false);
  // f: (N, outputs) only, for evaluation: like forward, but no layer output is kept (the fused
  // two-layer CNN then moves almost nothing through memory). Not followed by backward.
  const T* predict(const T* x, int N);
  // df: (N, outputs) = dL/df for the last forward → adds dL/dθ into parameters().grads().
  void backward(const T* df);

  // Whether forward_backward can run this model: the fused two-layer CNN (conv_readout.hpp).
  bool fuses_step() const { return conv_readout_ != nullptr; }
  // forward, dL/df of every sample by `output_gradient` into df: (N, outputs), and backward, in
  // one pass over the samples (losses that are sums over samples); the same bits as forward,
  // the gradient, then backward, without keeping any layer's output but f.
  const T* forward_backward(const T* x, int N, bool same_input, T* df,
                            const typename ConvReadout<T>::OutputGradient& output_gradient);

  // The output of layer i after the last forward: (N, layer i's output shape); null for a conv
  // layer fused with its activation when the activation's derivative does not need it.
  const T* layer_output(int i) const { return outputs_[std::size_t(i)]; }

 private:
  enum class Allocate { parameters, nothing };
  Model(ModelSpec spec, Allocate allocate);
  // The sizes reserve(batch) gives the owned layer outputs (in order) and each gradient buffer.
  struct BufferSizes {
    std::vector<std::size_t> outputs;
    std::size_t gradients = 0;
  };
  BufferSizes buffer_sizes(int batch) const;

  ModelSpec spec_;
  std::vector<std::unique_ptr<Layer<T>>> layers_;
  ParameterStore<T> parameters_;
  int capacity_ = 0;
  int batch_ = 0;
  const T* input_ = nullptr;
  std::vector<std::vector<T>> buffers_;  // owned outputs, one per non-view layer
  std::vector<T*> outputs_;              // layer i's output (a view layer shares its input's)
  std::vector<T> grad_a_, grad_b_;       // ping-pong buffers for dy and dx
  // The two-layer CNN's fused pass over its four layers (conv_readout.hpp), for a model whose
  // layers are exactly kConvReadoutLayers (model.cpp); null for other models.
  std::unique_ptr<ConvReadout<T>> conv_readout_;
  // fused_[i]: layer i is a Conv2d whose activation (layer i + 1) runs inside it, sample by
  // sample (Conv2d::forward_activated, backward_activated); with no conv_readout_ only.
  std::vector<bool> fused_;
  // The activation of the fused conv layer i, and whether the layer keeps its output z (the
  // activation's derivative needs it).
  const Activation& fused_activation(std::size_t i) const;
  bool keeps_conv_output(std::size_t i) const;
};

}  // namespace condense
