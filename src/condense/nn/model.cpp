#include "condense/nn/model.hpp"

#include <algorithm>

#include "condense/core/error.hpp"
#include "condense/nn/conv2d.hpp"
#include "condense/nn/elementwise.hpp"
#include "condense/nn/linear.hpp"
#include "condense/nn/pool.hpp"
#include "condense/nn/residual.hpp"

namespace condense {

namespace {

// The two-layer CNN of docs/science.md §2.1 as layers: conv → activation → flatten → readout.
// ConvReadout runs exactly this sequence in one pass per sample (conv_readout.hpp).
const std::vector<std::string_view> kConvReadoutLayers = {
    layer_kind::conv2d, layer_kind::activation, layer_kind::flatten, layer_kind::linear};

}  // namespace

template <class T>
Model<T>::Model(ModelSpec spec) : Model(std::move(spec), Allocate::parameters) {}

template <class T>
std::size_t Model<T>::training_bytes(const ModelSpec& spec, int batch) {
  return Model(spec, Allocate::nothing).memory_bytes(batch);
}

template <class T>
std::vector<ParameterInfo> Model<T>::parameter_info(const ModelSpec& spec) {
  return Model(spec, Allocate::nothing).parameters_.info();
}

template <class T>
std::string Model<T>::describe_spec(const ModelSpec& spec) {
  return Model(spec, Allocate::nothing).describe();
}

template <class T>
std::vector<std::string_view> Model<T>::layer_kinds(const ModelSpec& spec) {
  return Model(spec, Allocate::nothing).layer_kinds();
}

template <class T>
std::vector<std::string_view> Model<T>::layer_kinds() const {
  std::vector<std::string_view> kinds;
  for (const auto& layer : layers_) kinds.push_back(layer->kind());
  return kinds;
}

template <class T>
Model<T>::Model(ModelSpec spec, Allocate allocate) : spec_(std::move(spec)) {
  const auto& s = spec_;
  if (s.input.channels <= 0 || s.input.height <= 0 || s.input.width <= 0)
    fail_input("model input shape {} has a zero or negative size", to_string(s.input));
  if (s.outputs <= 0) fail_input("model.outputs must be at least 1, got {}", s.outputs);
  if (s.activations.size() != 1 && int(s.activations.size()) != s.activated_layers())
    fail_input(
        "model.activation lists {} names, but the model has {} conv and hidden layers; give "
        "one name, or one per layer",
        s.activations.size(), s.activated_layers());

  FeatureShape shape = s.input;
  int activated = 0;
  for (std::size_t i = 0; i < s.conv.size(); ++i) {
    const ConvSpec& c = s.conv[i];
    const std::string name = fmt::format("conv{}", i + 1);
    layers_.push_back(std::make_unique<Conv2d<T>>(name, shape, c.channels, c.kernel, c.stride,
                                                  c.padding, s.bias));
    shape = layers_.back()->output_shape();
    layers_.push_back(std::make_unique<ActivationLayer<T>>(fmt::format("act{}", activated + 1),
                                                           shape, s.activation(activated)));
    ++activated;
    if (c.pool != Pooling::none) {
      layers_.push_back(std::make_unique<Pool2d<T>>(
          fmt::format("pool{}", i + 1), shape,
          c.pool == Pooling::max2 ? PoolKind::max : PoolKind::average, 2, 2));
      shape = layers_.back()->output_shape();
    }
  }
  if (shape.height != 1 || shape.width != 1 || !s.conv.empty()) {
    layers_.push_back(std::make_unique<Flatten<T>>("flatten", shape));
    shape = layers_.back()->output_shape();
  }
  int fc = 0;
  for (std::size_t i = 0; i < s.hidden.size(); ++i) {
    const std::string name = fmt::format("fc{}", ++fc);
    const Activation& act = s.activation(activated);
    if (s.residual && i > 0) {
      layers_.push_back(std::make_unique<ResidualBlock<T>>(name, shape, s.hidden[i], act, s.bias));
    } else {
      layers_.push_back(std::make_unique<Linear<T>>(name, shape, s.hidden[i], s.bias));
      shape = layers_.back()->output_shape();
      layers_.push_back(
          std::make_unique<ActivationLayer<T>>(fmt::format("act{}", activated + 1), shape, act));
    }
    shape = layers_.back()->output_shape();
    ++activated;
  }
  layers_.push_back(
      std::make_unique<Linear<T>>(fmt::format("fc{}", ++fc), shape, s.outputs, s.bias));

  for (auto& layer : layers_) layer->declare(parameters_);
  if (allocate == Allocate::parameters) parameters_.allocate();

  const std::vector<std::string_view> kinds = layer_kinds();
  if (kinds == kConvReadoutLayers)
    conv_readout_ = std::make_unique<ConvReadout<T>>(static_cast<Conv2d<T>&>(*layers_[0]),
                                                     static_cast<ActivationLayer<T>&>(*layers_[1]),
                                                     static_cast<Linear<T>&>(*layers_[3]));
  // Otherwise every conv layer runs its activation sample by sample, so that neither the conv
  // output nor its gradient makes a trip through memory for the whole batch.
  fused_.assign(layers_.size(), false);
  if (!conv_readout_)
    for (std::size_t i = 0; i + 1 < layers_.size(); ++i)
      fused_[i] = kinds[i] == layer_kind::conv2d && kinds[i + 1] == layer_kind::activation;
}

template <class T>
const Activation& Model<T>::fused_activation(std::size_t i) const {
  return static_cast<const ActivationLayer<T>&>(*layers_[i + 1]).activation();
}

template <class T>
bool Model<T>::keeps_conv_output(std::size_t i) const {
  return !fused_activation(i).derivative_from_output();
}

template <class T>
std::string Model<T>::describe() const {
  std::string text;
  for (const auto& layer : layers_) text += layer->describe() + "\n";
  return text;
}

template <class T>
typename Model<T>::BufferSizes Model<T>::buffer_sizes(int batch) const {
  BufferSizes sizes;
  std::int64_t largest = spec_.input.size();
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    const auto& layer = layers_[i];
    largest = std::max(largest, layer->output_shape().size());
    // The fused two-layer CNN keeps its conv output only when the activation's derivative needs
    // it, and its activation output only for a separate forward and backward (made on first use:
    // training and evaluation go through forward_backward and predict, which keep neither).
    const bool unused = (conv_readout_ && ((i == 0 && !conv_readout_->keeps_z()) || i == 1)) ||
                        (fused_[i] && !keeps_conv_output(i));
    if (!layer->is_view())
      sizes.outputs.push_back(unused ? 0 : std::size_t(batch * layer->output_shape().size()));
  }
  // The fused pass keeps its input gradients in per-thread scratch (conv_readout.hpp).
  sizes.gradients = conv_readout_ ? 0 : std::size_t(batch * largest);
  return sizes;
}

template <class T>
void Model<T>::reserve(int batch) {
  if (batch <= capacity_) return;
  capacity_ = batch;
  buffers_.clear();
  outputs_.assign(layers_.size(), nullptr);
  for (const auto& layer : layers_) layer->reserve(batch);
  const BufferSizes sizes = buffer_sizes(batch);
  for (std::size_t size : sizes.outputs) buffers_.emplace_back(size);
  grad_a_.assign(sizes.gradients, T(0));
  grad_b_.assign(sizes.gradients, T(0));
}

template <class T>
std::size_t Model<T>::memory_bytes(int batch) const {
  const BufferSizes sizes = buffer_sizes(batch);
  std::size_t values = 2 * parameters_.declared_size() + 2 * sizes.gradients;
  for (std::size_t size : sizes.outputs) values += size;
  std::size_t bytes = values * sizeof(T);
  for (const auto& layer : layers_) bytes += layer->cache_bytes(batch);
  if (conv_readout_) {
    // The activation output a separate forward makes on first use (Model::forward) is not
    // counted: training and evaluation never make it.
    bytes += conv_readout_->scratch_bytes(batch);
  }
  return bytes;
}

template <class T>
const T* Model<T>::forward(const T* x, int N, bool same_input) {
  reserve(N);
  batch_ = N;
  input_ = x;
  if (conv_readout_) {
    const std::size_t h_size = std::size_t(N) * layers_[1]->output_shape().size();
    if (buffers_[1].size() < h_size)
      buffers_[1].resize(std::size_t(capacity_) * layers_[1]->output_shape().size());
    T* z = buffers_[0].data();
    T* h = buffers_[1].data();
    T* f = buffers_[2].data();
    conv_readout_->forward(parameters_, x, z, h, f, N, same_input);
    outputs_ = {conv_readout_->keeps_z() ? z : nullptr, h, h, f};
    return f;
  }
  const T* in = x;
  std::size_t owned = 0;
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    Layer<T>& layer = *layers_[i];
    if (fused_[i]) {
      T* z = keeps_conv_output(i) ? buffers_[owned].data() : nullptr;
      T* h = buffers_[owned + 1].data();
      owned += 2;
      static_cast<Conv2d<T>&>(layer).forward_activated(parameters_, in, z, h, N,
                                                       same_input && i == 0, fused_activation(i));
      outputs_[i] = z;
      outputs_[++i] = h;
      in = h;
      continue;
    }
    T* out = layer.is_view() ? const_cast<T*>(in) : buffers_[owned++].data();
    layer.forward(parameters_, in, out, N, same_input && i == 0);
    outputs_[i] = out;
    in = out;
  }
  return in;
}

template <class T>
const T* Model<T>::predict(const T* x, int N) {
  if (!conv_readout_) return forward(x, N, false);
  reserve(N);
  T* f = buffers_[2].data();
  conv_readout_->predict(parameters_, x, f, N);
  batch_ = N;
  input_ = x;
  outputs_ = {nullptr, nullptr, nullptr, f};
  return f;
}

template <class T>
const T* Model<T>::forward_backward(
    const T* x, int N, bool same_input, T* df,
    const typename ConvReadout<T>::OutputGradient& output_gradient) {
  if (!conv_readout_) fail_input("forward_backward: the model is not a two-layer CNN");
  reserve(N);
  batch_ = N;
  input_ = x;
  T* f = buffers_[2].data();
  conv_readout_->forward_backward(parameters_, x, f, df, N, same_input, output_gradient);
  outputs_ = {nullptr, nullptr, nullptr, f};
  return f;
}

template <class T>
void Model<T>::backward(const T* df) {
  const int N = batch_;
  if (conv_readout_) {
    conv_readout_->backward(parameters_, input_, outputs_[0], outputs_[1], df, N);
    return;
  }
  // Layers before the first one with parameters see only data: they need no input gradient.
  std::size_t first = 0;
  while (first < layers_.size() && layers_[first]->is_view()) ++first;
  const T* dy = df;
  for (std::size_t i = layers_.size(); i-- > 0;) {
    Layer<T>& layer = *layers_[i];
    if (layer.is_view()) continue;         // dx is dy itself
    if (i > 0 && fused_[i - 1]) continue;  // the conv layer before it takes dy through it
    const T* x = i == 0 ? input_ : outputs_[i - 1];
    T* dx = nullptr;
    if (i > first) dx = (dy == grad_a_.data()) ? grad_b_.data() : grad_a_.data();
    if (fused_[i])
      static_cast<Conv2d<T>&>(layer).backward_activated(
          parameters_, x, outputs_[i], outputs_[i + 1], dy, dx, N, fused_activation(i));
    else
      layer.backward(parameters_, x, outputs_[i], dy, dx, N);
    dy = dx;
  }
}

template class Model<float>;
template class Model<double>;

}  // namespace condense
