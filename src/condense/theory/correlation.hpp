#pragma once
// The label–input correlation Z of docs/science.md §2.3, the matrix that drives the early dynamics
// of a two-layer network from a small initialization:
//   CNN: row q of Z_k = (1/N) Σ_i Y_ik x_{i,q}   (x_{i,q}: patch of sample i at output position q)
//   FC:  Z_k = z̄_k = (1/N) Σ_i Y_ik x_i          (one row)
// With K outputs the blocks Z_k are stacked into one (K·L, d) matrix: its right singular vectors
// are the eigenvectors of Σ_k Z_kᵀ Z_k, which is what the K-output dynamics turn the kernels to.
#include <string>
#include <vector>

#include "condense/core/types.hpp"
#include "condense/nn/conv2d.hpp"

namespace condense {

// Y: (N, K) targets, as the early dynamics see them (see effective_targets_*).
// Z: (K·L, d) with d = C·k·k (+1 when `bias`: a constant 1 appended to every patch); block k is
// rows k·L .. k·L + L − 1, positions q in row-major (oh, ow) order, patch entries in PyTorch's
// (c, i, j) order, as im2col lays them out.
Matrix<double> cnn_correlation(const ConvGeometry& geometry, bool bias,
                               const double* inputs,  // (N, C, H, W)
                               const Matrix<double>& targets);

// Z: (K, d) with d = F (+1 when `bias`).
Matrix<double> fc_correlation(int features, bool bias,
                              const double* inputs,  // (N, F)
                              const Matrix<double>& targets);

// The targets the leading-order dynamics see, e_i ≈ −y_i (docs/science.md §2.3, §2.6).
//  MSE: the targets themselves, values: (N, K).
//  Cross-entropy at a small initialization: softmax ≈ 1/K, so dR/df_ik ≈ (1/K − [y_i = k])/N and
//  the effective targets are one-hot(label) − 1/K.
// With `center` (the readout has a bias), each column loses its mean over the samples: the readout
// bias b obeys db/dt = ȳ − b at leading order, so after a transient of time ~1 it has absorbed ȳ
// and the residual seen by the kernels is y_i − ȳ (for cross-entropy: one-hot − class frequency).
Matrix<double> effective_targets_mse(const double* values, int N, int K, bool center);
Matrix<double> effective_targets_cross_entropy(const int* labels, int N, int classes, bool center);

}  // namespace condense
