#include "condense/train/workloads.hpp"

#include "condense/core/error.hpp"
#include "condense/core/rng.hpp"
#include "condense/nn/conv2d.hpp"

namespace condense {

namespace {

// The first layer of W1, W4: the two-layer CNN of docs/science.md §2.1.
ModelSpec two_layer_cnn() {
  ModelSpec spec;
  spec.input = {3, 32, 32};
  spec.conv = {{32, 3, 1, 1}};
  spec.activations = {parse_activation("tanh")};
  spec.bias = false;
  spec.outputs = 1;
  return spec;
}

// Standard (lazy-regime) scale σ = fan_in^(−1/2): the timings do not depend on the scale, and
// tanh then sees arguments of order 1, as in training.
InitConfig standard_init() {
  InitConfig init;
  init.all.scheme = InitScheme::normal;
  init.all.gamma = 0.5;
  return init;
}

}  // namespace

std::vector<std::string> workload_names() {
  return {"W1", "W2", "W3", "W4"};
}

Workload workload_by_name(const std::string& name) {
  Workload w;
  w.name = name;
  w.init = standard_init();
  if (name == "W1" || name == "W4") {
    w.model = two_layer_cnn();
    w.loss = LossKind::mse;
    w.optimizer.kind = OptimizerKind::gd;
    w.optimizer.lr = 0.01;
    w.samples = 500;
    w.dtype = name == "W1" ? Dtype::float32 : Dtype::float64;
    w.description = fmt::format(
        "two-layer CNN 3x32x32 -> conv 32x3x3 s1 p1 no bias, tanh -> linear 1; MSE, GD; n=500; {}",
        dtype_name(w.dtype));
  } else if (name == "W2") {
    ModelSpec& spec = w.model;
    spec.input = {3, 32, 32};
    spec.conv = {{32, 3, 1, 1}, {32, 3, 2, 1}, {32, 3, 2, 1}};
    spec.hidden = {256};
    spec.activations = {parse_activation("tanh")};
    spec.bias = true;
    spec.outputs = 10;
    w.loss = LossKind::cross_entropy;
    w.optimizer.kind = OptimizerKind::adam;
    w.optimizer.lr = 1e-4;
    w.samples = 500;
    w.dtype = Dtype::float32;
    w.description =
        "CNN 3x32x32 -> conv 32 s1, 32 s2, 32 s2 (3x3 p1, bias, tanh) -> fc 256 tanh -> 10; "
        "cross-entropy, Adam; n=500; float32";
  } else if (name == "W3") {
    ModelSpec& spec = w.model;
    spec.input = {784, 1, 1};
    spec.hidden = {1024};
    spec.activations = {parse_activation("tanh")};
    spec.bias = true;
    spec.outputs = 1;
    w.loss = LossKind::mse;
    w.optimizer.kind = OptimizerKind::gd;
    w.optimizer.lr = 0.01;
    w.samples = 1000;
    w.dtype = Dtype::float32;
    w.description = "FC 784 -> 1024 tanh -> 1; MSE, GD; n=1000; float32";
  } else {
    std::string known;
    for (const auto& n : workload_names()) known += (known.empty() ? "" : ", ") + n;
    fail_input("workload \"{}\" is not known; expected one of {}", name, known);
  }
  return w;
}

template <class T>
WorkloadData<T> make_workload_data(const Workload& workload) {
  WorkloadData<T> data;
  const std::size_t N = std::size_t(workload.samples);
  const std::size_t F = std::size_t(workload.model.input.size());
  const int K = workload.model.outputs;
  Rng inputs = Rng::stream(workload.seed, 0);
  data.inputs.resize(N * F);
  for (T& x : data.inputs) x = T(inputs.normal());
  Rng targets = Rng::stream(workload.seed, 1);
  if (workload.loss == LossKind::mse) {
    data.targets.resize(N * std::size_t(K));
    for (T& y : data.targets) y = T(targets.normal());
  } else {
    data.labels.resize(N);
    for (int& label : data.labels) label = int(targets.below(std::uint64_t(K)));
  }
  return data;
}

double training_step_flops(const ModelSpec& model, int samples) {
  const double n = samples;
  double flops = 0.0;
  bool first = true;
  // A product of an (a × b) by a (b × c) matrix costs 2abc; forward, dW and dx products of one
  // layer all have the same size.
  auto add_layer = [&](double multiply_adds_per_sample) {
    const double products = first ? 2.0 : 3.0;
    flops += products * 2.0 * n * multiply_adds_per_sample;
    first = false;
  };
  FeatureShape shape = model.input;
  for (const ConvSpec& c : model.conv) {
    const ConvGeometry g{shape.channels, c.channels,   c.kernel,   c.stride,
                         c.padding,      shape.height, shape.width};
    add_layer(double(g.out_channels) * g.patch_size() * g.positions());
    shape = {g.out_channels, g.out_height(), g.out_width()};
    if (c.pool != Pooling::none) shape = {shape.channels, shape.height / 2, shape.width / 2};
  }
  double features = double(shape.size());
  for (int width : model.hidden) {
    add_layer(features * width);
    features = width;
  }
  add_layer(features * model.outputs);
  return flops;
}

template WorkloadData<float> make_workload_data<float>(const Workload&);
template WorkloadData<double> make_workload_data<double>(const Workload&);

}  // namespace condense
