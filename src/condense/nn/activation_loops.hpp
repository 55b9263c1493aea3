#pragma once
// The backward element loops of an activation, written once for any activation struct `Act`
// (the built-in ones are in activation.cpp). An Act has
//   static constexpr std::string_view name;
//   static constexpr bool kink;                    // not differentiable at 0
//   static T value(T x, T parameter);              // σ(x)
//   static T derivative(T x, T y, T parameter);    // σ'(x), given y = σ(x)
// and may declare `static constexpr bool from_output = true` when σ' is a function of y alone:
// the loops then pass y in place of x, and z may be null. Declaring it false, or not at all, means
// σ' needs x. Exposed so that tests can run the loops with activations of their own.
#include <cstddef>
#include <type_traits>

namespace condense::activation_loops {

// The value of Act::from_output, false when Act does not declare it.
template <class Act>
constexpr bool derivative_from_output() {
  if constexpr (requires { Act::from_output; })
    return bool(Act::from_output);
  else
    return false;
}

// dz[i] = dh[i] · σ'(z[i]) for i < n (activation.hpp: activation_backward).
template <class Act, class T>
void backward(const T* z, const T* h, const T* dh, T* dz, std::size_t n, T p) {
  if constexpr (derivative_from_output<Act>()) {
    // z may be null: the derivative is a function of h alone.
#pragma omp simd
    for (std::size_t i = 0; i < n; ++i) dz[i] = dh[i] * Act::derivative(h[i], h[i], p);
  } else {
#pragma omp simd
    for (std::size_t i = 0; i < n; ++i) dz[i] = dh[i] * Act::derivative(z[i], h[i], p);
  }
}

// The backward sweep of a single-output readout a over h = σ(z) for one sample with output
// gradient g (activation.hpp: activation_backward_readout): dz[i] = (a[i]·g)·σ'(z[i]) and
// dA[i] += g·h[i] (dA[i] = g·h[i] when `first`).
template <class Act, class T>
void backward_readout(const T* z, const T* h, const T* a, T g, T* dz, T* dA, bool first,
                      std::size_t n, T p) {
  // The same operations, in the same order, as dh = Aᵀ·df, activation_backward and
  // dA += df·hᵀ would do one after another for a single output. Each element's h is read
  // before its dz is written, so dz may be h itself.
  auto sweep = [&](auto keep_dA) {
#pragma omp simd
    for (std::size_t i = 0; i < n; ++i) {
      const T hi = h[i];
      // z is not read (and may be null) when the derivative comes from the output.
      const T x = derivative_from_output<Act>() ? hi : z[i];
      dA[i] = keep_dA ? dA[i] + g * hi : g * hi;
      dz[i] = (a[i] * g) * Act::derivative(x, hi, p);
    }
  };
  if (first)
    sweep(std::false_type{});
  else
    sweep(std::true_type{});
}

}  // namespace condense::activation_loops
