#include "condense/theory/linear_dynamics.hpp"

#include <algorithm>
#include <cmath>

#include "condense/core/error.hpp"

namespace condense {

namespace {

Vector<double> drive_or_zero(const LinearDynamics& dynamics) {
  if (dynamics.drive.size() == 0) return Vector<double>::Zero(dynamics.Z.rows());
  if (dynamics.drive.size() != dynamics.Z.rows())
    fail_input("the drive has {} entries, Z has {} rows", dynamics.drive.size(), dynamics.Z.rows());
  return dynamics.drive;
}

void check_state(const LinearDynamics& dynamics, const KernelState& state) {
  if (state.W.cols() != dynamics.Z.cols() || state.A.cols() != dynamics.Z.rows() ||
      state.W.rows() != state.A.rows())
    fail_input("kernel state W: ({}, {}), A: ({}, {}) does not match Z: ({}, {})", state.W.rows(),
               state.W.cols(), state.A.rows(), state.A.cols(), dynamics.Z.rows(),
               dynamics.Z.cols());
}

// e^{−X}·cosh(x), e^{−X}·sinh(x) and e^{−X}·(cosh(x) − 1)/ω, e^{−X}·sinh(x)/ω for x = ω t, without
// overflow for X ≥ |x| and without cancellation for small x.
struct ScaledHyperbolic {
  double cosh, sinh, cosh_minus_one_over_omega, sinh_over_omega;
};

ScaledHyperbolic scaled_hyperbolic(double omega, double t, double X) {
  const double x = omega * t, ax = std::abs(x);
  const double up = std::exp(ax - X), down = std::exp(-ax - X);
  ScaledHyperbolic h;
  h.cosh = 0.5 * (up + down);
  h.sinh = std::copysign(0.5 * (up - down), x);
  if (ax < 1e-4) {
    // Series: sinh(x)/ω = t(1 + x²/6), (cosh(x) − 1)/ω = x t/2 (1 + x²/12); relative error < 1e-17.
    const double scale = std::exp(-X);
    h.sinh_over_omega = scale * t * (1.0 + x * x / 6.0);
    h.cosh_minus_one_over_omega = scale * 0.5 * x * t * (1.0 + x * x / 12.0);
  } else {
    h.sinh_over_omega = h.sinh / omega;
    h.cosh_minus_one_over_omega = (h.cosh - std::exp(-X)) / omega;
  }
  return h;
}

}  // namespace

KernelState evolve_exact(const LinearDynamics& dynamics, const Spectrum& spectrum,
                         const KernelState& initial, double t) {
  check_state(dynamics, initial);
  if (t < 0) fail_input("the linear dynamics run forward only; got t = {}", t);
  const Matrix<double>& V = spectrum.right;  // (d, r)
  const Matrix<double>& U = spectrum.left;   // (R, r)
  const Eigen::Index r = spectrum.singular_values.size();
  // The drive in the units of the scaled state.
  const Vector<double> b = drive_or_zero(dynamics) * std::exp(-initial.log_scale);  // (R)
  const Vector<double> b_modal = U.transpose() * b;                                 // (r)
  const Vector<double> b_rest = b - U * b_modal;                                    // (R)

  double X = 0.0;
  for (Eigen::Index k = 0; k < r; ++k)
    X = std::max(X, std::abs(dynamics.slope * spectrum.singular_values(k)) * t);

  const Matrix<double> alpha = initial.W * V;  // (M, r)
  const Matrix<double> beta = initial.A * U;   // (M, r)
  const double rest_scale = std::exp(-X);
  KernelState out;
  out.log_scale = initial.log_scale + X;
  out.W = rest_scale * (initial.W - alpha * V.transpose());  // (M, d): the part outside span(V)
  out.A = rest_scale * (initial.A - beta * U.transpose());   // (M, R): outside span(U) ...
  out.A.rowwise() += (rest_scale * t * b_rest).transpose();  // ... grows like b_⊥ t
  Matrix<double> alpha_t(alpha.rows(), r), beta_t(beta.rows(), r);
  for (Eigen::Index k = 0; k < r; ++k) {
    const double omega = dynamics.slope * spectrum.singular_values(k);
    const ScaledHyperbolic h = scaled_hyperbolic(omega, t, X);
    alpha_t.col(k) =
        alpha.col(k) * h.cosh + beta.col(k) * h.sinh +
        Vector<double>::Constant(alpha.rows(), b_modal(k) * h.cosh_minus_one_over_omega);
    beta_t.col(k) = alpha.col(k) * h.sinh + beta.col(k) * h.cosh +
                    Vector<double>::Constant(beta.rows(), b_modal(k) * h.sinh_over_omega);
  }
  out.W += alpha_t * V.transpose();
  out.A += beta_t * U.transpose();
  return out;
}

KernelState evolve_rk4(const LinearDynamics& dynamics, const KernelState& initial, double t,
                       long steps) {
  check_state(dynamics, initial);
  if (t < 0 || steps < 1) fail_input("RK4 needs t ≥ 0 and at least one step");
  const Matrix<double>& Z = dynamics.Z;  // (R, d)
  const double c = dynamics.slope, h = t / double(steps);
  Vector<double> b = drive_or_zero(dynamics) * std::exp(-initial.log_scale);
  KernelState state = initial;
  struct Rate {
    Matrix<double> W, A;
  };
  auto rate = [&](const Matrix<double>& W, const Matrix<double>& A) {
    Rate r{c * A * Z, c * W * Z.transpose()};
    r.A.rowwise() += b.transpose();
    return r;
  };
  for (long step = 0; step < steps; ++step) {
    const Rate k1 = rate(state.W, state.A);
    const Rate k2 = rate(state.W + 0.5 * h * k1.W, state.A + 0.5 * h * k1.A);
    const Rate k3 = rate(state.W + 0.5 * h * k2.W, state.A + 0.5 * h * k2.A);
    const Rate k4 = rate(state.W + h * k3.W, state.A + h * k3.A);
    state.W += (h / 6.0) * (k1.W + 2.0 * k2.W + 2.0 * k3.W + k4.W);
    state.A += (h / 6.0) * (k1.A + 2.0 * k2.A + 2.0 * k3.A + k4.A);
    const double size = std::max(state.W.cwiseAbs().maxCoeff(), state.A.cwiseAbs().maxCoeff());
    if (size > 1e100) {
      state.W /= size;
      state.A /= size;
      b /= size;
      state.log_scale += std::log(size);
    }
  }
  return state;
}

double mean_abs_cosine(const Matrix<double>& W, const Vector<double>& direction) {
  const double direction_norm = direction.norm();
  if (direction_norm == 0.0) return 0.0;
  double sum = 0.0;
  int counted = 0;
  for (Eigen::Index beta = 0; beta < W.rows(); ++beta) {
    const double norm = W.row(beta).norm();
    if (norm == 0.0) continue;
    sum += std::abs(W.row(beta).dot(direction.transpose())) / (norm * direction_norm);
    ++counted;
  }
  return counted ? sum / counted : 0.0;
}

std::vector<double> predicted_alignment(const LinearDynamics& dynamics, const Spectrum& spectrum,
                                        const KernelState& initial,
                                        const std::vector<double>& times) {
  std::vector<double> alignment;
  alignment.reserve(times.size());
  const Vector<double> v1 = spectrum.v1();
  for (double t : times)
    alignment.push_back(mean_abs_cosine(evolve_exact(dynamics, spectrum, initial, t).W, v1));
  return alignment;
}

}  // namespace condense
