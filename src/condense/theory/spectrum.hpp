#pragma once
// The singular value decomposition of the correlation Z (docs/science.md §2.3): Z = U S Vᵀ, so that
// ZᵀZ = Σ_k s_k² v_k v_kᵀ and every kernel turns towards ±v₁.
//
// Why an SVD of Z rather than an eigen-decomposition of ZᵀZ: forming ZᵀZ squares the condition
// number, so a singular value s_k computed from it carries an error ~ eps·s₁²/s_k instead of
// ~ eps·s₁; the small singular values (reported, and used by the linear dynamics) would lose
// half their digits. d ≤ a few hundred, so the one-sided Jacobi SVD (Eigen::JacobiSVD, with a
// QR preconditioner that first reduces the tall (K·L, d) matrix to d × d) costs milliseconds and is
// the most accurate choice. The direction v₁ itself is accurate to ~ eps·s₁/(s₁ − s₂) either way.
#include "condense/core/types.hpp"

namespace condense {

struct Spectrum {
  Vector<double> singular_values;  // (r), r = min(rows, d), descending
  Matrix<double> left;             // U: (rows, r)
  Matrix<double> right;            // V: (d, r); column 0 is v₁
  // Sign convention: each column of V has its largest-|component| entry positive (the first
  // such entry on a tie), and the matching column of U is flipped with it so that Z = U S Vᵀ.
  Vector<double> v1() const { return right.col(0); }
  double s(int k) const { return k < singular_values.size() ? singular_values(k) : 0.0; }
};

// Z: (rows, d) → its thin SVD. Throws InputError if Z is empty or not finite.
Spectrum singular_spectrum(const Matrix<double>& Z);

}  // namespace condense
