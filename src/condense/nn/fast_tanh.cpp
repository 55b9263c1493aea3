#include "condense/nn/fast_tanh.hpp"

#include <cmath>
#include <cstdint>
#include <cstring>

#include <Eigen/Core>

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define CONDENSE_TANH_AVX2 1
#endif

namespace condense {

void tanh_array(const float* x, float* y, std::size_t n) {
  // Eigen computes the elements past the last full packet with std::tanh; the last 1–7 elements
  // go through one padded packet instead, so that every element gets the same bits wherever it is.
  constexpr std::size_t kPacket = 8;
  const std::size_t full = n - n % kPacket;
  Eigen::Map<Eigen::ArrayXf>(y, Eigen::Index(full)) =
      Eigen::Map<const Eigen::ArrayXf>(x, Eigen::Index(full)).tanh();
  if (full < n) {
    Eigen::Array<float, kPacket, 1> tail = Eigen::Array<float, kPacket, 1>::Zero();
    std::memcpy(tail.data(), x + full, (n - full) * sizeof(float));
    tail = tail.tanh();
    std::memcpy(y + full, tail.data(), (n - full) * sizeof(float));
  }
}

namespace {

// tanh(x) for double, after glibc (sysdeps/ieee754/dbl-64/s_tanh.c):
//   a = −2|x| (|x| clamped to 20, where tanh rounds to ±1),  a = k·ln2 + r,  |r| ≤ ln2/2,
//   p = e^r − 1 by its Taylor series to degree 14 (truncation below 2^−60 relative),
//   t = e^a − 1 = 2^k p + (2^k − 1),   u = e^a = 2^k p + 2^k   (one rounding each, by FMA),
//   |x| <  0.55:  tanh|x| = −t / (t + 2)         (no cancellation: t is accurate near 0)
//   |x| >= 0.55:  tanh|x| = 1 − 2u / (1 + u)     (u ≤ 1/3, its error shrinks by 1/(1+u))
// then the sign of x is put back; NaN stays NaN.
constexpr double kLn2Hi = 6.93147180369123816490e-01;  // fdlibm: 32 bits, so k·kLn2Hi is exact
constexpr double kLn2Lo = 1.90821492927058770002e-10;
constexpr double kInvLn2 = 1.44269504088896338700e+00;
constexpr double kClamp = 20.0;
constexpr double kSmall = 0.55;
// 1/n! for n = 2..14.
constexpr double kInvFactorial[] = {
    1.0 / 2, 1.0 / 6, 1.0 / 24, 1.0 / 120, 1.0 / 720, 1.0 / 5040, 1.0 / 40320, 1.0 / 362880,
    1.0 / 3628800, 1.0 / 39916800, 1.0 / 479001600, 1.0 / 6227020800.0, 1.0 / 87178291200.0};

#ifdef CONDENSE_TANH_AVX2

// k + kShifter is exact for the integers k here (−58 ≤ k ≤ 0), and its bit pattern ends in k, two's
// complement: shifted left by 52 and added to 1023 << 52, that is the bit pattern of 2^k. Cheaper
// than converting k to integers (two cross-lane conversions), and the same 2^k.
constexpr double kShifter = 0x1.8p52;

// Lanes of tanh, J vectors of four at a time: each step is done for all J vectors before the
// next, so the J dependency chains (thirteen multiply-adds of the polynomial, the division)
// overlap. Every lane does the same arithmetic in the same order whatever J is.
template <int J>
inline void tanh_lanes(const double* in, double* out) {
  const __m256d sign_bit = _mm256_set1_pd(-0.0);
  __m256d x[J], magnitude[J], k[J], r[J], q[J];
  for (int j = 0; j < J; ++j) {
    x[j] = _mm256_loadu_pd(in + 4 * j);
    magnitude[j] = _mm256_min_pd(_mm256_andnot_pd(sign_bit, x[j]), _mm256_set1_pd(kClamp));
  }
  for (int j = 0; j < J; ++j) {
    const __m256d a = _mm256_mul_pd(magnitude[j], _mm256_set1_pd(-2.0));
    k[j] = _mm256_round_pd(_mm256_mul_pd(a, _mm256_set1_pd(kInvLn2)),
                           _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    r[j] = _mm256_fnmadd_pd(k[j], _mm256_set1_pd(kLn2Hi), a);
  }
  for (int j = 0; j < J; ++j) {
    r[j] = _mm256_fnmadd_pd(k[j], _mm256_set1_pd(kLn2Lo), r[j]);
    q[j] = _mm256_set1_pd(kInvFactorial[12]);
  }
  for (int i = 11; i >= 0; --i) {
    const __m256d c = _mm256_set1_pd(kInvFactorial[i]);
    for (int j = 0; j < J; ++j) q[j] = _mm256_fmadd_pd(q[j], r[j], c);
  }
  const __m256d one = _mm256_set1_pd(1.0), two = _mm256_set1_pd(2.0);
  for (int j = 0; j < J; ++j) {
    const __m256d p = _mm256_fmadd_pd(q[j], _mm256_mul_pd(r[j], r[j]), r[j]);
    const __m256i k_bits = _mm256_castpd_si256(_mm256_add_pd(k[j], _mm256_set1_pd(kShifter)));
    const __m256d two_k = _mm256_castsi256_pd(_mm256_add_epi64(
        _mm256_slli_epi64(k_bits, 52), _mm256_set1_epi64x(std::int64_t(1023) << 52)));
    const __m256d t = _mm256_fmadd_pd(two_k, p, _mm256_sub_pd(two_k, one));
    const __m256d u = _mm256_fmadd_pd(two_k, p, two_k);
    const __m256d small = _mm256_cmp_pd(magnitude[j], _mm256_set1_pd(kSmall), _CMP_LT_OQ);
    // The quotients of the comment above with two operations fewer and the same bits: for
    // |x| < 0.55, t/(t + 2) is −(−t/(t + 2)) exactly, and its sign is cleared below; otherwise
    // 2u/(1 + u) is 2·(u/(1 + u)) exactly, so 1 − 2u/(1 + u) is one fused 1 − 2·(u/(1 + u)).
    const __m256d numerator = _mm256_blendv_pd(u, t, small);
    const __m256d denominator =
        _mm256_blendv_pd(_mm256_add_pd(one, u), _mm256_add_pd(t, two), small);
    const __m256d quotient = _mm256_div_pd(numerator, denominator);
    __m256d result = _mm256_blendv_pd(_mm256_fnmadd_pd(quotient, two, one), quotient, small);
    result = _mm256_or_pd(_mm256_andnot_pd(sign_bit, result), _mm256_and_pd(sign_bit, x[j]));
    _mm256_storeu_pd(out + 4 * j,
                     _mm256_blendv_pd(result, x[j], _mm256_cmp_pd(x[j], x[j], _CMP_UNORD_Q)));
  }
}

#else

inline double tanh1(double x) {
  if (std::isnan(x)) return x;
  const double magnitude = std::fmin(std::fabs(x), kClamp);
  const double a = magnitude * -2.0;
  const double k = std::nearbyint(a * kInvLn2);
  double r = std::fma(-k, kLn2Hi, a);
  r = std::fma(-k, kLn2Lo, r);
  double q = kInvFactorial[12];
  for (int i = 11; i >= 0; --i) q = std::fma(q, r, kInvFactorial[i]);
  const double p = std::fma(q, r * r, r);
  const std::uint64_t bits = std::uint64_t(std::int64_t(k) + 1023) << 52;
  double two_k;
  std::memcpy(&two_k, &bits, sizeof two_k);
  const double t = std::fma(two_k, p, two_k - 1.0);
  const double u = std::fma(two_k, p, two_k);
  const bool small = magnitude < kSmall;
  const double quotient = small ? -t / (t + 2.0) : (u + u) / (1.0 + u);
  return std::copysign(small ? quotient : 1.0 - quotient, x);
}

#endif

}  // namespace

void tanh_array(const double* x, double* y, std::size_t n) {
#ifdef CONDENSE_TANH_AVX2
  // Four vectors at a time hide the latency of the polynomial: 1.4× the speed of one at a time.
  constexpr std::size_t kBlock = 16;
  std::size_t i = 0;
  for (; i + kBlock <= n; i += kBlock) tanh_lanes<kBlock / 4>(x + i, y + i);
  for (; i + 4 <= n; i += 4) tanh_lanes<1>(x + i, y + i);
  if (i < n) {
    // The last 1–3 elements go through the same four-lane code, so they get the same bits.
    double tail[4] = {0.0, 0.0, 0.0, 0.0};
    std::memcpy(tail, x + i, (n - i) * sizeof(double));
    tanh_lanes<1>(tail, tail);
    std::memcpy(y + i, tail, (n - i) * sizeof(double));
  }
#else
  for (std::size_t i = 0; i < n; ++i) y[i] = tanh1(x[i]);
#endif
}

}  // namespace condense
