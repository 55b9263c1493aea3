#pragma once
// The linearized early dynamics of a two-layer network from a small initialization
// (docs/science.md §2.3, §2.5), for all M kernels at once:
//   dW/dt = c · A Z             W: (M, d), row β = W_β (with its bias, if any)
//   dA/dt = c · W Zᵀ + 1 bᵀ     A: (M, R), row β = a_β, the readout of kernel β over the R = K·L
//                                 (output, position) pairs
// with Z: (R, d) the stacked correlation, c = σ'(0), and the drive b: (R), b_{k,q} = σ(0)·ȳ_k
// (ȳ_k = (1/N) Σ_i Y_ik), which σ(0) ≠ 0 adds to da/dt. Along each singular pair (s_k, u_k, v_k)
// of Z the system is two-dimensional, α_k = v_kᵀ W_β, β_k = u_kᵀ a_β, ω_k = c·s_k:
//   α_k(t) = α_k cosh ω_k t + β_k sinh ω_k t + (b_k/ω_k)(cosh ω_k t − 1)
//   β_k(t) = α_k sinh ω_k t + β_k cosh ω_k t + (b_k/ω_k) sinh ω_k t,      b_k = u_kᵀ b,
// the part of W_β outside span(V) stays, the part of a_β outside span(U) grows like b_⊥ t. This is
// the exact solution of the linear system, with or without the drive; evolve_rk4 integrates the
// same system step by step and is its independent check (tests/test_theory.cpp).
#include <vector>

#include "condense/core/types.hpp"
#include "condense/theory/spectrum.hpp"

namespace condense {

struct LinearDynamics {
  Matrix<double> Z;      // (R, d)
  double slope = 1.0;    // c = σ'(0)
  Vector<double> drive;  // (R) b; empty or zero when σ(0) = 0
};

// The weights, up to a common positive factor: the true weights are e^{log_scale}·(W, A). The
// growing mode reaches e^{s₁t}, which overflows a double near s₁t ≈ 700; the factor keeps the
// directions computable for any t.
struct KernelState {
  Matrix<double> W;  // (M, d)
  Matrix<double> A;  // (M, R)
  double log_scale = 0.0;
};

// The exact solution at time t ≥ 0 via the SVD of Z (`spectrum` must be the SVD of dynamics.Z).
KernelState evolve_exact(const LinearDynamics& dynamics, const Spectrum& spectrum,
                         const KernelState& initial, double t);

// Classical RK4 with `steps` equal steps from 0 to t, rescaling (W, A, b) together when the
// weights grow large (the system is linear in (W, A, b), so that is exact).
KernelState evolve_rk4(const LinearDynamics& dynamics, const KernelState& initial, double t,
                       long steps);

// Mean over kernels of |cos(W_β, direction)|; kernels of zero norm are left out (0 if all are).
double mean_abs_cosine(const Matrix<double>& W, const Vector<double>& direction);

// mean_β |cos(W_β(t), v₁)| at each of `times`, from the exact solution (each time on its own,
// so no error accumulates).
std::vector<double> predicted_alignment(const LinearDynamics& dynamics, const Spectrum& spectrum,
                                        const KernelState& initial,
                                        const std::vector<double>& times);

}  // namespace condense
