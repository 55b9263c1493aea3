#pragma once
// Activation functions σ with their exact derivatives. The table of built-ins lives in
// activation.cpp; adding one is one struct there plus one test case (tests/test_activation.cpp).
#include <cstddef>
#include <string>
#include <vector>

namespace condense {

struct Activation {
  int index = 0;           // row of the built-in table
  double parameter = 0.0;  // leaky_relu's negative slope; unused by the others

  std::string name() const;  // "tanh", "leaky_relu:0.1"
  bool has_kink() const;     // not differentiable at 0 (relu, leaky_relu)
  // σ' is a function of y = σ(x) alone (tanh: 1 − y², sigmoid: y(1 − y), identity): the
  // backward pass then needs only the output, and z need not be kept.
  bool derivative_from_output() const;
  double value(double x) const;       // σ(x)
  double derivative(double x) const;  // σ'(x)
  bool operator==(const Activation&) const = default;
};

// "tanh", "relu", "leaky_relu" (slope 0.01, PyTorch's default) or "leaky_relu:0.2".
// Throws InputError naming the value and listing the known names.
Activation parse_activation(const std::string& text);

// Every built-in activation's name, in table order.
std::vector<std::string> activation_names();

// h[i] = σ(z[i]) for i < n.
template <class T>
void activation_forward(const Activation& activation, const T* z, T* h, std::size_t n);

// dz[i] = dh[i] · σ'(z[i]) for i < n; h = σ(z) from the forward pass (some derivatives use it).
// z may be null when derivative_from_output().
template <class T>
void activation_backward(const Activation& activation, const T* z, const T* h, const T* dh, T* dz,
                         std::size_t n);

// The backward sweep of a single-output linear readout a over h = σ(z), for one sample with
// output gradient g (nn/conv_readout.cpp): dz[i] = (a[i]·g)·σ'(z[i]), and dA[i] += g·h[i]
// (dA[i] = g·h[i] when `first`). z may be null when derivative_from_output().
template <class T>
void activation_backward_readout(const Activation& activation, const T* z, const T* h, const T* a,
                                 T g, T* dz, T* dA, bool first, std::size_t n);

}  // namespace condense
