#include "condense/theory/theory_model.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

#include "condense/core/error.hpp"
#include "condense/nn/model.hpp"

namespace condense {

namespace {

// The models the two-layer prediction covers (docs/science.md §2.1, §2.8, §2.10), as the layers
// nn/model.cpp builds for them. Adding a family here means adding its theory (correlation,
// kernel_state, the time scales) first.
struct CoveredModel {
  TheoryFamily family;
  std::vector<std::string_view> layers;
};

const std::vector<CoveredModel>& covered_models() {
  static const std::vector<CoveredModel> models = {
      // One conv layer read out directly, at every position, by the linear output layer.
      {TheoryFamily::cnn,
       {layer_kind::conv2d, layer_kind::activation, layer_kind::flatten, layer_kind::linear}},
      // One hidden layer, on an input of shape (F, 1, 1) or on an image read flattened.
      {TheoryFamily::fc, {layer_kind::linear, layer_kind::activation, layer_kind::linear}},
      {TheoryFamily::fc,
       {layer_kind::flatten, layer_kind::linear, layer_kind::activation, layer_kind::linear}},
  };
  return models;
}

// The activations it covers: differentiable at 0 with σ'(0) ≠ 0, so that the linearization of
// docs/science.md §2.3 applies with the leading term σ'(0)·Z (§2.5). Names as Activation::name
// gives them, so an activation with a parameter would be listed with it.
constexpr std::string_view kCoveredActivations[] = {"identity", "tanh", "sigmoid",
                                                    "softplus", "gelu", "silu"};

[[noreturn]] void not_covered(const std::string& why) {
  fail_input("no prediction applies to this model: {}", why);
}

// The reason of its own for the models outside the list that users most often ask about; empty
// for any other model.
std::string known_reason(const ModelSpec& spec) {
  if (!spec.conv.empty()) {
    if (spec.conv.size() > 1)
      return fmt::format(
          "it has {} conv layers; docs/science.md §2.10 covers one conv layer read out directly "
          "by the linear output layer",
          spec.conv.size());
    if (!spec.hidden.empty())
      return fmt::format(
          "it has {} hidden FC layer(s) after the conv layer; docs/science.md §2.10 covers a conv "
          "layer read out directly by the linear output layer",
          spec.hidden.size());
    if (spec.conv[0].pool != Pooling::none)
      return fmt::format(
          "the conv layer is followed by {} pooling; docs/science.md §2.10 reads out every "
          "position of the conv layer",
          pooling_name(spec.conv[0].pool));
    return "";
  }
  if (spec.hidden.empty())
    return "it has no hidden layer (a linear model has no neurons to condense)";
  if (spec.hidden.size() > 1)
    return fmt::format(
        "it has {} hidden layers; the FC theory covers a two-layer net (one hidden layer)",
        spec.hidden.size());
  return "";
}

std::string covered_models_text() {
  std::vector<std::string> families;
  for (const CoveredModel& covered : covered_models())
    families.push_back(
        fmt::format("{} ({})", fmt::join(covered.layers, " → "),
                    covered.family == TheoryFamily::cnn ? "two-layer CNN" : "two-layer FC net"));
  return fmt::format("{}", fmt::join(families, "; "));
}

}  // namespace

std::vector<std::int64_t> TheoryModel::kernel_shape() const {
  if (family == TheoryFamily::cnn) return {conv.in_channels, conv.kernel, conv.kernel};
  return {features};
}

std::string TheoryModel::describe_biases() const {
  if (bias == readout_bias) return bias ? "with bias" : "no bias";
  return bias ? "bias in the first layer only" : "bias in the readout only";
}

std::string TheoryModel::describe() const {
  if (family == TheoryFamily::cnn)
    return fmt::format(
        "two-layer CNN: {} kernels {}x{}x{}, stride {}, padding {}, on {}x{}x{} "
        "input -> {} positions ({}x{}), {} output(s), {}, {}",
        conv.out_channels, conv.in_channels, conv.kernel, conv.kernel, conv.stride, conv.padding,
        conv.in_channels, conv.in_height, conv.in_width, positions(), conv.out_height(),
        conv.out_width(), outputs, activation.name(), describe_biases());
  return fmt::format("two-layer FC net: {} inputs, {} hidden neurons, {} output(s), {}, {}",
                     features, width, outputs, activation.name(), describe_biases());
}

std::optional<TheoryFamily> theory_family(const std::vector<std::string_view>& layer_kinds) {
  for (const CoveredModel& covered : covered_models())
    if (layer_kinds == covered.layers) return covered.family;
  return std::nullopt;
}

bool theory_covers_activation(const Activation& activation) {
  const std::string name = activation.name();
  return std::find(std::begin(kCoveredActivations), std::end(kCoveredActivations), name) !=
         std::end(kCoveredActivations);
}

std::vector<std::string> theory_activation_names() {
  return {std::begin(kCoveredActivations), std::end(kCoveredActivations)};
}

TheoryModel theory_model(const ModelSpec& spec) {
  TheoryModel model;
  model.bias = spec.bias;
  model.readout_bias = spec.bias;
  model.outputs = spec.outputs;
  if (spec.outputs < 1) fail_input("the model needs at least one output, got {}", spec.outputs);
  if (spec.activations.empty()) fail_input("the model has no activation");
  if (const std::string why = known_reason(spec); !why.empty()) not_covered(why);
  if (!spec.conv.empty()) {
    const ConvSpec& c = spec.conv[0];
    // Checked here, before the geometry divides by the stride: a config checks them when it is
    // read, a model described in code may not have been.
    if (c.kernel < 1 || c.stride < 1 || c.padding < 0)
      fail_input(
          "the conv layer needs kernel >= 1, stride >= 1 and padding >= 0, got kernel {}, "
          "stride {}, padding {}",
          c.kernel, c.stride, c.padding);
    model.conv = ConvGeometry{.in_channels = spec.input.channels,
                              .out_channels = c.channels,
                              .kernel = c.kernel,
                              .stride = c.stride,
                              .padding = c.padding,
                              .in_height = spec.input.height,
                              .in_width = spec.input.width};
    if (model.conv.out_height() <= 0 || model.conv.out_width() <= 0)
      fail_input("the conv layer (kernel {}, stride {}, padding {}) does not fit the {} input",
                 c.kernel, c.stride, c.padding, to_string(spec.input));
  }
  // The allow-list decides: the reasons above only name the most common refusals.
  const std::vector<std::string_view> layers = Model<double>::layer_kinds(spec);
  const std::optional<TheoryFamily> family = theory_family(layers);
  if (!family)
    not_covered(fmt::format("its layers are {}; docs/science.md §2.10 covers {}",
                            fmt::join(layers, " → "), covered_models_text()));
  model.family = *family;
  if (model.family == TheoryFamily::fc) {
    model.features = int(spec.input.size());
    model.width = spec.hidden[0];
  }
  model.activation = spec.activation(0);
  return model;
}

}  // namespace condense
