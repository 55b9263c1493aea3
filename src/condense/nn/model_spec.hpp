#pragma once
// A model as the user describes it. One description covers both families of docs/science.md:
//  - a CNN: conv layers (each followed by its activation and optional pooling), then hidden FC
//    layers with activations, then a linear output layer. With one conv layer and no hidden FC
//    layer this is the two-layer CNN of docs/science.md §2.1;
//  - an FC net: no conv layers; hidden widths (with residual blocks after the first when
//    `residual` is set), then a linear output layer.
#include <string>
#include <vector>

#include "condense/core/types.hpp"
#include "condense/nn/activation.hpp"

namespace condense {

enum class Pooling { none, avg2, max2 };

const char* pooling_name(Pooling pooling);
Pooling parse_pooling(const std::string& name);  // "none", "avg2", "max2"

struct ConvSpec {
  int channels = 0;
  int kernel = 3;
  int stride = 1;
  int padding = 0;
  Pooling pool = Pooling::none;
};

struct ModelSpec {
  FeatureShape input;  // (C, H, W); an FC net reads it flattened
  std::vector<ConvSpec> conv;
  std::vector<int> hidden;  // widths of the hidden FC layers
  // One activation for every layer, or one per conv and hidden layer, in order.
  std::vector<Activation> activations;
  bool bias = true;
  bool residual = false;  // hidden FC layers after the first are residual blocks
  int outputs = 1;

  int activated_layers() const { return int(conv.size() + hidden.size()); }
  // The activation of conv/hidden layer `i` (0-based, conv layers first).
  const Activation& activation(int i) const;
  bool is_two_layer_cnn() const { return conv.size() == 1 && hidden.empty(); }
  bool is_two_layer_fc() const { return conv.empty() && hidden.size() == 1; }
};

}  // namespace condense
