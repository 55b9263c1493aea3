#pragma once
// What the theory needs to know about an activation σ near 0 (docs/science.md §2.5, §2.9): σ(0),
// σ'(0), and the multiplicity p of Zhou et al. (NeurIPS 2022), the smallest k ≥ 1 with σ⁽ᵏ⁾(0) ≠ 0.
// Computed numerically from Activation::value and Activation::derivative, so that an activation
// added to the table gets its expansion without anyone writing it down by hand.
#include <optional>
#include <string>
#include <vector>

#include "condense/nn/activation.hpp"

namespace condense {

struct ActivationExpansion {
  std::string name;
  // σ is not differentiable at 0 (σ' jumps there): σ'(0) and p do not exist.
  bool kink = false;
  double value_at_zero = 0.0;           // σ(0)
  std::optional<double> slope_at_zero;  // σ'(0); empty at a kink
  // σ⁽ᵏ⁾(0) for k = 1 .. p (the last one is the first nonzero); empty at a kink.
  std::vector<double> derivatives_at_zero;
  // p; empty at a kink or when every derivative up to kMaxMultiplicity vanishes.
  std::optional<int> multiplicity;
  // The scale G = max |σ'(x)| over |x| ≤ 1 that "nonzero" is measured against.
  double slope_scale = 0.0;
};

// Derivatives beyond this order are not looked at: no activation of interest has p > 3.
inline constexpr int kMaxMultiplicity = 8;

// A derivative counts as nonzero when |σ⁽ᵏ⁾(0)| / k! > kZeroThreshold · G: far above the error of
// the finite differences (~1e-9 · G at order 8) and far below any Taylor coefficient that matters.
inline constexpr double kZeroThreshold = 1e-6;

// σ(0), σ'(0) and p for any activation. σ'(0) is Activation::derivative(0); the higher
// derivatives are central finite differences of σ' with Richardson extrapolation, in double.
ActivationExpansion expand_at_zero(const Activation& activation);

// "p = 1", "p = 3", "none (kink at 0)", "> 8".
std::string multiplicity_text(const ActivationExpansion& expansion);

// The k-th derivative (k ≥ 1) of σ at 0 by finite differences of σ' (exposed for the tests).
double derivative_at_zero(const Activation& activation, int k);

}  // namespace condense
