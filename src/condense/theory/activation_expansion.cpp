#include "condense/theory/activation_expansion.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

namespace condense {

namespace {

double binomial(int n, int k) {
  double result = 1.0;
  for (int j = 1; j <= k; ++j) result = result * double(n - k + j) / double(j);
  return result;
}

double factorial(int k) {
  double result = 1.0;
  for (int j = 2; j <= k; ++j) result *= double(j);
  return result;
}

// The m-th central difference quotient of σ' at 0 with step h:
//   δ_h^m g(0) / h^m = Σ_{j=0..m} (−1)^j C(m, j) g((m/2 − j)·h) / h^m,
// which is g⁽ᵐ⁾(0) + O(h²) (odd m uses the half-integer points ±h/2, ±3h/2, …).
double central_difference(const Activation& activation, int m, double h) {
  double sum = 0.0;
  for (int j = 0; j <= m; ++j) {
    const double x = (0.5 * m - j) * h;
    sum += ((j % 2) ? -1.0 : 1.0) * binomial(m, j) * activation.derivative(x);
  }
  return sum / std::pow(h, m);
}

}  // namespace

double derivative_at_zero(const Activation& activation, int k) {
  if (k == 1) return activation.derivative(0.0);
  const int m = k - 1;  // order of the difference of σ'
  // Richardson extrapolation D = (4 D(h/2) − D(h)) / 3 leaves an O(h⁴) truncation error; the
  // rounding error of the m-th difference is ~ eps·2^m·|σ'| / h^m. Balancing the two gives
  // h ~ (eps·2^m)^(1/(m+4)): 8e-4 for σ'' and 0.06 for σ⁽⁸⁾.
  const double eps = std::numeric_limits<double>::epsilon();
  const double h = std::max(1e-3, std::pow(eps * std::pow(2.0, m), 1.0 / (m + 4)));
  const double coarse = central_difference(activation, m, h);
  const double fine = central_difference(activation, m, 0.5 * h);
  return (4.0 * fine - coarse) / 3.0;
}

ActivationExpansion expand_at_zero(const Activation& activation) {
  ActivationExpansion result;
  result.name = activation.name();
  result.value_at_zero = activation.value(0.0);
  for (int i = -100; i <= 100; ++i)
    result.slope_scale = std::max(result.slope_scale, std::abs(activation.derivative(i / 100.0)));

  // A kink: σ' on either side of 0 differs by far more than a smooth σ'' could explain over 2δ.
  const double delta = 1e-7;
  const double left = activation.derivative(-delta), right = activation.derivative(delta);
  if (std::abs(right - left) > 1e-3 * std::max(result.slope_scale, 1e-300)) {
    result.kink = true;
    return result;
  }

  result.slope_at_zero = activation.derivative(0.0);
  for (int k = 1; k <= kMaxMultiplicity; ++k) {
    const double value = derivative_at_zero(activation, k);
    result.derivatives_at_zero.push_back(value);
    if (std::abs(value) / factorial(k) > kZeroThreshold * result.slope_scale) {
      result.multiplicity = k;
      break;
    }
  }
  // σ'(0) counts as 0 by the same rule as every other derivative, so that rounding in a formula
  // such as x·tanh(x)'s derivative cannot leave a 1e-17 slope that the theory would divide by.
  if (!result.multiplicity || *result.multiplicity > 1) result.slope_at_zero = 0.0;
  return result;
}

std::string multiplicity_text(const ActivationExpansion& expansion) {
  if (expansion.kink) return "none (kink at 0)";
  if (!expansion.multiplicity) return fmt::format("> {}", kMaxMultiplicity);
  return fmt::format("p = {}", *expansion.multiplicity);
}

}  // namespace condense
