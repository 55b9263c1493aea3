#pragma once
// The two matrix products of the conv layers, written for their shapes: few rows (M output
// channels), a long row-major second operand (patches, K × L), no packing copies and no zero-fill
// of the result.
//
// Both keep one fixed order of operations for every element (the sum over the inner dimension
// runs in order, in vector lanes of a fixed width from the row's first element), so results do
// not depend on buffer addresses, thread slots or thread counts.
#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace condense::conv_kernels {

// The output positions of a direct convolution as its kernels visit them: packet_out[i] = y·Wo + x
// and packet_in[i] = y·Wp + x for every full vector packet of every output row, then
// rest_out/rest_in for the positions left over at the rows' ends. Wp is the distance between
// output rows in the input planes (conv2d.hpp: direct_row_step).
// `in` lists y·Wp + x for every position in order.
struct DirectPositions {
  std::vector<int> packet_out, packet_in, rest_out, rest_in, in;
  template <class T>
  static DirectPositions make(int Ho, int Wo, int Wp) {
    constexpr int P = Eigen::internal::packet_traits<T>::size;
    DirectPositions p;
    for (int y = 0; y < Ho; ++y) {
      for (int x = 0; x < Wo; ++x) p.in.push_back(y * Wp + x);
      int x = 0;
      for (; x + P <= Wo; x += P) {
        p.packet_out.push_back(y * Wo + x);
        p.packet_in.push_back(y * Wp + x);
      }
      for (; x < Wo; ++x) {
        p.rest_out.push_back(y * Wo + x);
        p.rest_in.push_back(y * Wp + x);
      }
    }
    return p;
  }
};

namespace detail {

template <class T>
using Packet = typename Eigen::internal::packet_traits<T>::type;
template <class T>
constexpr int kLanes = Eigen::internal::unpacket_traits<Packet<T>>::size;

// c + a·b rounded as a vector lane's pmadd rounds it (fused where Eigen fuses), so that the
// elements a kernel leaves to scalar code get the bits a lane would give them: an element's value
// then does not depend on whether it fell into a vector block.
template <class T>
inline T madd(T a, T b, T c) {
#ifdef EIGEN_VECTORIZE_FMA
  return std::fma(a, b, c);
#else
  return a * b + c;
#endif
}

// a·b + c rounded twice, product first. The barrier keeps the compiler from fusing the two into
// one multiply-add, which it otherwise did or did not do depending on how the caller was inlined.
template <class T>
inline T multiply_then_add(T a, T b, T c) {
  T product = a * b;
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
  __asm__("" : "+x"(product));
#else
  volatile T rounded = product;
  product = rounded;
#endif
  return product + c;
}

// Blocks of B over [0, n): block.template operator()<B>(i) for each full block starting at i, then
// one block of the n mod B that are left, its size a compile-time constant like B. The kernels'
// block shapes are template parameters; this is their one loop over rows or columns.
template <int B, class Block>
inline void remainder_block(int size, int begin, Block& block) {
  if (size == B)
    block.template operator()<B>(begin);
  else if constexpr (B > 1)
    remainder_block<B - 1>(size, begin, block);
}
template <int B, class Block>
inline void for_blocks(int n, Block&& block) {
  int i = 0;
  for (; i + B <= n; i += B) block.template operator()<B>(i);
  if constexpr (B > 1) {
    if (i < n) remainder_block<B - 1>(n - i, i, block);
  }
}

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
      for (int d = 0; d < D; ++d) sum = madd(a[r * a_rs + d * a_cs], b[d * ldb + j], sum);
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
inline void nt_rows(int S, int L, const T* a, std::int64_t lda, const T* b, std::int64_t ldb, T* c,
                    std::int64_t ldc) {
  for_blocks<3>(S, [&]<int SB>(int s) {
    nt_block<T, RB, SB>(L, a, lda, b + s * ldb, ldb, c + s, ldc);
  });
}

// Direct convolution: row r of A times the patches read in place from the sample's phase planes
// xp (conv2d.hpp). The patch entry d of output position q is xp[offsets[d] + at(q)], where
// consecutive output columns of one output row are consecutive in memory: a vector packet of
// positions starting at `in` loads like a row of a patch matrix. Rows [0, RB) of C = A·P + bias
// at NP packets of positions, read at in[j] and written at out[j].
template <class T, int RB, int NP>
inline void direct_block(int D, const T* a, std::int64_t lda, const int* offsets, const T* xp,
                         const int* in, const int* out, T* c, std::int64_t ldc, const T* bias) {
  using namespace Eigen::internal;
  Packet<T> acc[RB][NP];
  for (int r = 0; r < RB; ++r)
    for (int j = 0; j < NP; ++j) acc[r][j] = pset1<Packet<T>>(bias ? bias[r] : T(0));
  for (int d = 0; d < D; ++d) {
    const T* b = xp + offsets[d];
    Packet<T> bv[NP];
    for (int j = 0; j < NP; ++j) bv[j] = ploadu<Packet<T>>(b + in[j]);
    for (int r = 0; r < RB; ++r) {
      const Packet<T> w = pset1<Packet<T>>(a[r * lda + d]);
      for (int j = 0; j < NP; ++j) acc[r][j] = pmadd(w, bv[j], acc[r][j]);
    }
  }
  for (int r = 0; r < RB; ++r)
    for (int j = 0; j < NP; ++j) pstoreu(c + r * ldc + out[j], acc[r][j]);
}

// Rows [0, RB) of C at every packet of positions, two packets at a time.
template <class T, int RB>
inline void direct_rows(int D, const DirectPositions& positions, const T* a, const int* offsets,
                        const T* xp, T* c, std::int64_t ldc, const T* bias) {
  const int packets = int(positions.packet_out.size());
  const int* in = positions.packet_in.data();
  const int* out = positions.packet_out.data();
  int q = 0;
  for (; q + 2 <= packets; q += 2)
    direct_block<T, RB, 2>(D, a, D, offsets, xp, in + q, out + q, c, ldc, bias);
  if (q < packets) direct_block<T, RB, 1>(D, a, D, offsets, xp, in + q, out + q, c, ldc, bias);
}

// Every row of C at NP packets of positions, 6 rows at a time.
template <class T, int NP>
inline void direct_packets(int R, int D, const T* a, const int* offsets, const T* xp, const int* in,
                           const int* out, T* c, std::int64_t ldc, const T* bias) {
  for_blocks<6>(R, [&]<int RB>(int r) {
    direct_block<T, RB, NP>(D, a + r * D, D, offsets, xp, in, out, c + r * ldc, ldc,
                            bias ? bias + r : nullptr);
  });
}

// Rows [0, RB) of dZ × patch rows [0, SB) read in place (offsets as for direct_block):
// C[r, s] += Σ_q dZ[r, q] · xp[offsets[s] + at(q)], over output positions q. The positions come
// as a DirectPositions list: the vector packets of every output row first, then the rows'
// remainders one by one, so that the order of the sum is fixed by the geometry alone. One flat
// loop over packets keeps the accumulators in registers (a loop over rows spilled them).
template <class T, int RB, int SB>
inline void direct_nt_block(const DirectPositions& positions, const T* a, std::int64_t lda,
                            const int* offsets, const T* xp, T* c, std::int64_t ldc) {
  using namespace Eigen::internal;
  const T* bs[SB];
  for (int s = 0; s < SB; ++s) bs[s] = xp + offsets[s];
  Packet<T> acc[RB][SB];
  for (int r = 0; r < RB; ++r)
    for (int s = 0; s < SB; ++s) acc[r][s] = pset1<Packet<T>>(T(0));
  const int packets = int(positions.packet_out.size());
  const int* out = positions.packet_out.data();
  const int* in = positions.packet_in.data();
  for (int q = 0; q < packets; ++q) {
    Packet<T> bv[SB];
    for (int s = 0; s < SB; ++s) bv[s] = ploadu<Packet<T>>(bs[s] + in[q]);
    for (int r = 0; r < RB; ++r) {
      const Packet<T> av = ploadu<Packet<T>>(a + r * lda + out[q]);
      for (int s = 0; s < SB; ++s) acc[r][s] = pmadd(av, bv[s], acc[r][s]);
    }
  }
  T sum[RB][SB];
  for (int r = 0; r < RB; ++r)
    for (int s = 0; s < SB; ++s) sum[r][s] = predux(acc[r][s]);
  for (std::size_t q = 0; q < positions.rest_out.size(); ++q)
    for (int r = 0; r < RB; ++r)
      for (int s = 0; s < SB; ++s)
        sum[r][s] = multiply_then_add(a[r * lda + positions.rest_out[q]],
                                      bs[s][positions.rest_in[q]], sum[r][s]);
  for (int r = 0; r < RB; ++r)
    for (int s = 0; s < SB; ++s) c[r * ldc + s] += sum[r][s];
}

// Blocks of RB rows × SB patch rows over all S patch rows; the last S mod SB in one smaller block.
template <class T, int RB, int SB>
inline void direct_nt_rows(int S, const DirectPositions& positions, const T* a, std::int64_t lda,
                           const int* offsets, const T* xp, T* c, std::int64_t ldc) {
  for_blocks<SB>(S, [&]<int B>(int s) {
    direct_nt_block<T, RB, B>(positions, a, lda, offsets + s, xp, c + s, ldc);
  });
}

// Blocks of RB dZ rows over all R rows; the last R mod RB rows in one smaller block.
template <class T, int RB, int SB>
inline void direct_nt_all(int R, int S, const DirectPositions& positions, std::int64_t L,
                          const T* dz, const int* offsets, const T* xp, T* c) {
  for_blocks<RB>(R, [&]<int B>(int r) {
    direct_nt_rows<T, B, SB>(S, positions, dz + r * L, L, offsets, xp, c + r * S, S);
  });
}

// Rows [0, NR·lanes) of dZ × patch rows [0, SB) read in place: C[r, s] += Σ_q dZ[r, q] ·
// xp[offsets[s] + at(q)], each sum one multiply-add chain over the positions q in order from 0,
// then added to C (the order of Eigen's packed product, whose lanes run over s). The lanes run over
// r here, reading dZ from its transpose dzt (L, ldt), so the patches need no packing copy; only
// the first `rows` rows are written.
template <class T, int NR, int SB>
inline void direct_tn_block(int L, const int* in, const T* dzt, std::int64_t ldt,
                            const int* offsets, const T* xp, T* c, std::int64_t ldc, int rows) {
  using namespace Eigen::internal;
  constexpr int P = kLanes<T>;
  const T* bs[SB];
  for (int s = 0; s < SB; ++s) bs[s] = xp + offsets[s];
  Packet<T> acc[SB][NR];
  for (int s = 0; s < SB; ++s)
    for (int j = 0; j < NR; ++j) acc[s][j] = pset1<Packet<T>>(T(0));
  // One flat loop over positions keeps the accumulators in registers (a loop over output rows
  // spilled them).
  const T* dz = dzt;
  for (int q = 0; q < L; ++q, dz += ldt) {
    Packet<T> dv[NR];
    for (int j = 0; j < NR; ++j) dv[j] = ploadu<Packet<T>>(dz + j * P);
    for (int s = 0; s < SB; ++s) {
      const Packet<T> b = pset1<Packet<T>>(bs[s][in[q]]);
      for (int j = 0; j < NR; ++j) acc[s][j] = pmadd(b, dv[j], acc[s][j]);
    }
  }
  // All accumulators out first, in loops of fixed length: a loop over `rows` next to them would
  // keep the accumulators in memory through the loop above.
  T lanes[SB][NR * P];
  for (int s = 0; s < SB; ++s)
    for (int j = 0; j < NR; ++j) pstoreu(lanes[s] + j * P, acc[s][j]);
  for (int r = 0; r < rows; ++r)
    for (int s = 0; s < SB; ++s) c[r * ldc + s] += lanes[s][r];
}

template <class T, int NR>
inline void direct_tn_rows(int S, int L, const int* in, const T* dzt, std::int64_t ldt,
                           const int* offsets, const T* xp, T* c, std::int64_t ldc, int rows) {
  for_blocks<6>(S, [&]<int SB>(int s) {
    direct_tn_block<T, NR, SB>(L, in, dzt, ldt, offsets + s, xp, c + s, ldc, rows);
  });
}

// The positions multiply_direct leaves over at the output rows' ends (rest_out/rest_in), with the
// lanes over weight rows: A transposed once (at: D × RP, RP = R rounded down to whole packets),
// then per position and block of up to 4 row packets one FMA chain over d from the bias, as a
// position lane of direct_block computes it; NPOS positions side by side for independent chains.
// Narrow strided outputs (14 or 7 columns) have most positions here, where one scalar chain per
// element ran at a fraction of the speed.
template <class T, int NPOS>
inline void direct_rest_block(int D, int RP, const T* at, const int* offsets, const T* const* b,
                              T* const* c, std::int64_t L, const T* bias, int r0, int np) {
  using namespace Eigen::internal;
  constexpr int P = kLanes<T>;
  Packet<T> acc[NPOS][4];
  for (int q = 0; q < NPOS; ++q)
    for (int j = 0; j < np; ++j)
      acc[q][j] = bias ? ploadu<Packet<T>>(bias + r0 + j * P) : pset1<Packet<T>>(T(0));
  for (int d = 0; d < D; ++d) {
    const T* arow = at + std::int64_t(d) * RP + r0;
    Packet<T> av[4];
    for (int j = 0; j < np; ++j) av[j] = ploadu<Packet<T>>(arow + j * P);
    for (int q = 0; q < NPOS; ++q) {
      const Packet<T> bv = pset1<Packet<T>>(b[q][offsets[d]]);
      for (int j = 0; j < np; ++j) acc[q][j] = pmadd(av[j], bv, acc[q][j]);
    }
  }
  for (int q = 0; q < NPOS; ++q) {
    alignas(64) T lanes[4 * P];
    for (int j = 0; j < np; ++j) pstoreu(lanes + j * P, acc[q][j]);
    for (int i = 0; i < np * P; ++i) c[q][std::int64_t(r0 + i) * L] = lanes[i];
  }
}

template <class T>
inline void direct_rest(int R, int D, const DirectPositions& positions, const T* a,
                        const int* offsets, const T* xp, T* c, std::int64_t L, const T* bias) {
  constexpr int P = kLanes<T>;
  const int RP = R / P * P;
  const std::size_t rests = positions.rest_out.size();
  if (rests == 0) return;
  // Grown once per thread to the largest layer, not per call.
  thread_local std::vector<T> transposed;
  if (transposed.size() < std::size_t(D) * RP) transposed.resize(std::size_t(D) * RP);
  T* at = transposed.data();
  for (int r = 0; r < RP; ++r)
    for (int d = 0; d < D; ++d) at[std::int64_t(d) * RP + r] = a[std::int64_t(r) * D + d];
  std::size_t q = 0;
  for (; q < rests; q += 2) {
    const bool pair = q + 1 < rests;
    const T* b[2] = {xp + positions.rest_in[q], xp + positions.rest_in[pair ? q + 1 : q]};
    T* cq[2] = {c + positions.rest_out[q], c + positions.rest_out[pair ? q + 1 : q]};
    for (int r0 = 0; r0 < RP; r0 += 4 * P) {
      const int np = std::min(4, (RP - r0) / P);
      if (pair) direct_rest_block<T, 2>(D, RP, at, offsets, b, cq, L, bias, r0, np);
      else direct_rest_block<T, 1>(D, RP, at, offsets, b, cq, L, bias, r0, np);
    }
    for (int k = 0; k < (pair ? 2 : 1); ++k)
      for (int r = RP; r < R; ++r) {
        T sum = bias ? bias[r] : T(0);
        for (int d = 0; d < D; ++d) sum = madd(a[std::int64_t(r) * D + d], b[k][offsets[d]], sum);
        cq[k][std::int64_t(r) * L] = sum;
      }
  }
}

}  // namespace detail

// Direct convolution of one sample's phase planes xp (conv2d.hpp), without a patch matrix:
// Z (R × L) = A (R × D) · P + bias, where P's row d is read at xp + offsets[d] and the output
// positions come as `positions` (DirectPositions::make<T>(Ho, Wo, row step of the planes)). Each
// element sums over d in order from the bias, as multiply() does on the patch matrix, and gets
// the same bits.
template <class T>
void multiply_direct(int R, int D, const DirectPositions& positions, const T* a, const int* offsets,
                     const T* xp, T* c, std::int64_t L, const T* bias) {
  // Two packets of positions at a time (also across output rows, so that narrow outputs keep two
  // packets per weight broadcast). When the planes do not fit in L1, every row for two packets
  // before the next: their patch entries (D × 2 packets) stay in L1 for all rows, where a loop
  // over rows outside streamed the planes from L2 once per block of rows. When they fit, blocks
  // of rows outside: each row block's outputs are then written as whole rows, not 2 packets in
  // each of R rows L elements apart (4 KB apart for 32 × 32 outputs, one L1 set).
  constexpr std::int64_t kL1Bytes = 32 << 10;
  const int packets = int(positions.packet_out.size());
  const int* in = positions.packet_in.data();
  const int* out = positions.packet_out.data();
  const std::int64_t span = packets > 0 ? offsets[D - 1] + in[packets - 1] + detail::kLanes<T> : 0;
  if (span * std::int64_t(sizeof(T)) <= kL1Bytes) {
    detail::for_blocks<6>(R, [&]<int RB>(int r) {
      detail::direct_rows<T, RB>(D, positions, a + r * D, offsets, xp, c + r * L, L,
                                 bias ? bias + r : nullptr);
    });
  } else {
    int q = 0;
    for (; q + 2 <= packets; q += 2)
      detail::direct_packets<T, 2>(R, D, a, offsets, xp, in + q, out + q, c, L, bias);
    if (q < packets)
      detail::direct_packets<T, 1>(R, D, a, offsets, xp, in + q, out + q, c, L, bias);
  }
  detail::direct_rest<T>(R, D, positions, a, offsets, xp, c, L, bias);
}

// dW (R × S) += dZ (R × Ho·Wo) · Pᵀ for a stride-1 convolution, P read in place from the padded
// sample as in multiply_direct; `positions` = DirectPositions::make<T>(Ho, Wo, Wp).
template <class T>
void multiply_add_transposed_direct(int R, int S, const DirectPositions& positions, std::int64_t L,
                                    const T* dz, const int* offsets, const T* xp, T* c) {
  // Blocks of 2 rows × 5 patch rows: ten accumulators and the five patch packets fit the 16
  // vector registers, and each dZ packet is loaded once per block; in blocks of 4 × 3 the
  // compiler had one register left and loaded the dZ packet again for every multiply-add (the
  // weight gradient of W1 and W4 1.3–1.45× faster). An element's sum does not depend on the block
  // it falls in.
  detail::direct_nt_all<T, 2, 5>(R, S, positions, L, dz, offsets, xp, c);
}

// dzt (L, ldt) = dz (R, L) transposed, with zeros in columns [R, ldt): the layout
// multiply_add_transposed_in_order reads. ldt = R rounded up to whole vector packets.
template <class T>
std::int64_t transposed_stride(int R) {
  constexpr int P = detail::kLanes<T>;
  return (std::int64_t(R) + P - 1) / P * P;
}
template <class T>
void transpose_padded(int R, std::int64_t L, const T* dz, T* dzt, std::int64_t ldt) {
  for (std::int64_t q = 0; q < L; ++q) {
    T* row = dzt + q * ldt;
    for (int r = 0; r < R; ++r) row[r] = dz[r * L + q];
    for (std::int64_t r = R; r < ldt; ++r) row[r] = T(0);
  }
}

// dW (R × S) += dZ (R × L) · Pᵀ with P read in place from the phase planes as in
// multiply_direct (offsets, positions), dZ given as dzt = transpose_padded(dZ). Every element is
// one chain over the positions in order, then added to dW: the bits of Eigen's packed product
// dW += dZ·Pᵀ where that runs its 3-packet × 4 kernel over the whole depth in one block (deep
// patches, positions up to its depth block), without packing P for every sample.
template <class T>
void multiply_add_transposed_in_order(int R, int S, const DirectPositions& positions, const T* dzt,
                                      std::int64_t ldt, const int* offsets, const T* xp, T* c) {
  constexpr int P = detail::kLanes<T>;
  const int L = int(positions.in.size());
  const int* in = positions.in.data();
  int r = 0;
  for (; r < R; r += 2 * P) {
    const int rows = std::min(2 * P, R - r);
    if (rows > P)
      detail::direct_tn_rows<T, 2>(S, L, in, dzt + r, ldt, offsets, xp, c + r * S, S, rows);
    else
      detail::direct_tn_rows<T, 1>(S, L, in, dzt + r, ldt, offsets, xp, c + r * S, S, rows);
  }
}

// C (R × L) = A (R × D) · B (D × L), plus C itself when `accumulate`, else plus bias[r] on row r
// (bias may be null). A's element (r, d) is a[r·a_rs + d·a_cs], so A may be a transpose; B and C
// are row-major with leading dimensions ldb, ldc.
template <class T>
void multiply(int R, int D, int L, const T* a, std::int64_t a_rs, std::int64_t a_cs, const T* b,
              std::int64_t ldb, T* c, std::int64_t ldc, const T* bias, bool accumulate) {
  detail::for_blocks<6>(R, [&]<int RB>(int r) {
    detail::nn_rows<T, RB>(D, L, a + r * a_rs, a_rs, a_cs, b, ldb, c + r * ldc, ldc,
                           bias ? bias + r : nullptr, accumulate);
  });
}

// C (R × S) += A (R × L) · Bᵀ, with B (S × L); all row-major with leading dimensions lda, ldb, ldc.
template <class T>
void multiply_add_transposed(int R, int S, int L, const T* a, std::int64_t lda, const T* b,
                             std::int64_t ldb, T* c, std::int64_t ldc) {
  detail::for_blocks<4>(R, [&]<int RB>(int r) {
    detail::nt_rows<T, RB>(S, L, a + r * lda, lda, b, ldb, c + r * ldc, ldc);
  });
}

}  // namespace condense::conv_kernels
