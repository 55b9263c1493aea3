#pragma once
// The two matrix products of the conv layers, written for their shapes: few rows (M output
// channels), a long row-major second operand (patches, K × L), no packing copies and no zero-fill
// of the result.
//
// Both keep one fixed order of operations for every element (the sum over the inner dimension
// runs in order, in vector lanes of a fixed width from the row's first element), so results do
// not depend on buffer addresses, thread slots or thread counts.
#include <cstdint>

#include <Eigen/Core>

namespace condense::conv_kernels {

namespace detail {

template <class T>
using Packet = typename Eigen::internal::packet_traits<T>::type;
template <class T>
constexpr int kLanes = Eigen::internal::unpacket_traits<Packet<T>>::size;

// Rows [0, RB) × columns [l, l + 2·lanes) of C = A·B (+ C or + bias).
template <class T, int RB>
inline void nn_block(int D, const T* a, std::int64_t a_rs, std::int64_t a_cs, const T* b,
                     std::int64_t ldb, T* c, std::int64_t ldc, const T* bias, bool accumulate,
                     int l) {
  using namespace Eigen::internal;
  constexpr int P = kLanes<T>;
  Packet<T> acc0[RB], acc1[RB];
  for (int r = 0; r < RB; ++r) {
    if (accumulate) {
      acc0[r] = ploadu<Packet<T>>(c + r * ldc + l);
      acc1[r] = ploadu<Packet<T>>(c + r * ldc + l + P);
    } else {
      acc0[r] = acc1[r] = pset1<Packet<T>>(bias ? bias[r] : T(0));
    }
  }
  for (int d = 0; d < D; ++d) {
    const Packet<T> b0 = ploadu<Packet<T>>(b + d * ldb + l);
    const Packet<T> b1 = ploadu<Packet<T>>(b + d * ldb + l + P);
    for (int r = 0; r < RB; ++r) {
      const Packet<T> w = pset1<Packet<T>>(a[r * a_rs + d * a_cs]);
      acc0[r] = pmadd(w, b0, acc0[r]);
      acc1[r] = pmadd(w, b1, acc1[r]);
    }
  }
  for (int r = 0; r < RB; ++r) {
    pstoreu(c + r * ldc + l, acc0[r]);
    pstoreu(c + r * ldc + l + P, acc1[r]);
  }
}

// Rows [0, RB), every column of C = A·B (+ C or + bias).
template <class T, int RB>
inline void nn_rows(int D, int L, const T* a, std::int64_t a_rs, std::int64_t a_cs, const T* b,
                    std::int64_t ldb, T* c, std::int64_t ldc, const T* bias, bool accumulate) {
  constexpr int W = 2 * kLanes<T>;
  int l = 0;
  for (; l + W <= L; l += W) nn_block<T, RB>(D, a, a_rs, a_cs, b, ldb, c, ldc, bias, accumulate, l);
  for (int r = 0; r < RB; ++r) {
    for (int j = l; j < L; ++j) {
      T sum = accumulate ? c[r * ldc + j] : (bias ? bias[r] : T(0));
      for (int d = 0; d < D; ++d) sum += a[r * a_rs + d * a_cs] * b[d * ldb + j];
      c[r * ldc + j] = sum;
    }
  }
}

// Rows [0, RB) of A × rows [0, SB) of B: C[r, s] += Σ_l A[r, l] B[s, l].
template <class T, int RB, int SB>
inline void nt_block(int L, const T* a, std::int64_t lda, const T* b, std::int64_t ldb, T* c,
                     std::int64_t ldc) {
  using namespace Eigen::internal;
  constexpr int P = kLanes<T>;
  Packet<T> acc[RB][SB];
  for (int r = 0; r < RB; ++r)
    for (int s = 0; s < SB; ++s) acc[r][s] = pset1<Packet<T>>(T(0));
  int l = 0;
  for (; l + P <= L; l += P) {
    Packet<T> bv[SB];
    for (int s = 0; s < SB; ++s) bv[s] = ploadu<Packet<T>>(b + s * ldb + l);
    for (int r = 0; r < RB; ++r) {
      const Packet<T> av = ploadu<Packet<T>>(a + r * lda + l);
      for (int s = 0; s < SB; ++s) acc[r][s] = pmadd(av, bv[s], acc[r][s]);
    }
  }
  for (int r = 0; r < RB; ++r) {
    for (int s = 0; s < SB; ++s) {
      T sum = predux(acc[r][s]);
      for (int j = l; j < L; ++j) sum += a[r * lda + j] * b[s * ldb + j];
      c[r * ldc + s] += sum;
    }
  }
}

template <class T, int RB>
inline void nt_rows(int S, int L, const T* a, std::int64_t lda, const T* b, std::int64_t ldb,
                    T* c, std::int64_t ldc) {
  int s = 0;
  for (; s + 3 <= S; s += 3) nt_block<T, RB, 3>(L, a, lda, b + s * ldb, ldb, c + s, ldc);
  if (S - s == 2) nt_block<T, RB, 2>(L, a, lda, b + s * ldb, ldb, c + s, ldc);
  if (S - s == 1) nt_block<T, RB, 1>(L, a, lda, b + s * ldb, ldb, c + s, ldc);
}

}  // namespace detail

// C (R × L) = A (R × D) · B (D × L), plus C itself when `accumulate`, else plus bias[r] on row r
// (bias may be null). A's element (r, d) is a[r·a_rs + d·a_cs], so A may be a transpose; B and C
// are row-major with leading dimensions ldb, ldc.
template <class T>
void multiply(int R, int D, int L, const T* a, std::int64_t a_rs, std::int64_t a_cs, const T* b,
              std::int64_t ldb, T* c, std::int64_t ldc, const T* bias, bool accumulate) {
  constexpr int kRows = 6;
  int r = 0;
  for (; r + kRows <= R; r += kRows)
    detail::nn_rows<T, kRows>(D, L, a + r * a_rs, a_rs, a_cs, b, ldb, c + r * ldc, ldc,
                              bias ? bias + r : nullptr, accumulate);
  const T* ar = a + r * a_rs;
  T* cr = c + r * ldc;
  const T* br = bias ? bias + r : nullptr;
  switch (R - r) {
    case 5: detail::nn_rows<T, 5>(D, L, ar, a_rs, a_cs, b, ldb, cr, ldc, br, accumulate); break;
    case 4: detail::nn_rows<T, 4>(D, L, ar, a_rs, a_cs, b, ldb, cr, ldc, br, accumulate); break;
    case 3: detail::nn_rows<T, 3>(D, L, ar, a_rs, a_cs, b, ldb, cr, ldc, br, accumulate); break;
    case 2: detail::nn_rows<T, 2>(D, L, ar, a_rs, a_cs, b, ldb, cr, ldc, br, accumulate); break;
    case 1: detail::nn_rows<T, 1>(D, L, ar, a_rs, a_cs, b, ldb, cr, ldc, br, accumulate); break;
    default: break;
  }
}

// C (R × S) += A (R × L) · Bᵀ, with B (S × L); all row-major with leading dimensions lda, ldb, ldc.
template <class T>
void multiply_add_transposed(int R, int S, int L, const T* a, std::int64_t lda, const T* b,
                             std::int64_t ldb, T* c, std::int64_t ldc) {
  constexpr int kRows = 4;
  int r = 0;
  for (; r + kRows <= R; r += kRows)
    detail::nt_rows<T, kRows>(S, L, a + r * lda, lda, b, ldb, c + r * ldc, ldc);
  const T* ar = a + r * lda;
  T* cr = c + r * ldc;
  switch (R - r) {
    case 3: detail::nt_rows<T, 3>(S, L, ar, lda, b, ldb, cr, ldc); break;
    case 2: detail::nt_rows<T, 2>(S, L, ar, lda, b, ldb, cr, ldc); break;
    case 1: detail::nt_rows<T, 1>(S, L, ar, lda, b, ldb, cr, ldc); break;
    default: break;
  }
}

}  // namespace condense::conv_kernels
