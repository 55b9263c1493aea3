#pragma once
// The two-layer model as the theory sees it, and which models and activations the prediction
// covers (docs/science.md §2.10). Both are allow-lists: a model whose layers are not one of the
// listed sequences, or an activation not listed, has no prediction, whatever else it is.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "condense/nn/activation.hpp"
#include "condense/nn/conv2d.hpp"
#include "condense/nn/model_spec.hpp"

namespace condense {

enum class TheoryFamily { cnn, fc };

// The two-layer model as the theory sees it: the first layer's geometry and the readout's size.
struct TheoryModel {
  TheoryFamily family = TheoryFamily::cnn;
  ConvGeometry conv;  // cnn: (C, H, W) input, M = out_channels, kernel, stride, padding
  int features = 0;   // fc: F = C·H·W, the flattened input
  int width = 0;      // fc: M, the hidden width
  bool bias = false;  // the first layer's bias, which makes d = C·k·k + 1
  bool readout_bias = false;  // the readout's, which centres the targets (docs/theory.md §1)
  int outputs = 1;    // K
  Activation activation;

  int kernels() const { return family == TheoryFamily::cnn ? conv.out_channels : width; }  // M
  int positions() const { return family == TheoryFamily::cnn ? conv.positions() : 1; }     // L
  int weight_size() const { return family == TheoryFamily::cnn ? conv.patch_size() : features; }
  int direction_size() const { return weight_size() + (bias ? 1 : 0); }  // d
  int readout_size() const { return outputs * positions(); }             // R
  // The shape of one kernel's weights: (C, k, k) or (F).
  std::vector<std::int64_t> kernel_shape() const;
  // PyTorch names of the first layer and of the readout: "conv1"/"fc1" or "fc1"/"fc2".
  std::string first_layer() const { return family == TheoryFamily::cnn ? "conv1" : "fc1"; }
  std::string readout_layer() const { return family == TheoryFamily::cnn ? "fc1" : "fc2"; }
  std::string describe() const;
  std::string describe_biases() const;  // "with bias", "no bias", "bias in the readout only"
};

// The theory's view of a model description. Throws InputError starting "no prediction applies to
// this model:" and saying why for any model docs/science.md §2.10 does not cover: one whose layers
// (Model::layer_kinds) are not those of a covered family (theory_family), with a reason of its own
// for several conv layers, hidden FC layers after a conv layer, pooling, and an FC net without
// exactly one hidden layer. The activation is checked by predict (theory_covers_activation).
TheoryModel theory_model(const ModelSpec& spec);

// The family of a model whose layers, as Model::layer_kinds gives them, are exactly those of a
// family the theory covers; empty for any other sequence, including one with a kind of layer this
// list does not name.
std::optional<TheoryFamily> theory_family(const std::vector<std::string_view>& layer_kinds);

// Whether the prediction covers the activation: one of theory_activation_names(), each
// differentiable at 0 with σ'(0) ≠ 0 (tests/test_theory.cpp checks it of every listed one).
bool theory_covers_activation(const Activation& activation);
std::vector<std::string> theory_activation_names();

}  // namespace condense
