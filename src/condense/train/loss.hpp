#pragma once
// Losses and their gradients with respect to the model's outputs f: (N, K).
//
//  mse:            R = (1/2N) Σ_i |f_i − y_i|²       (docs/science.md §2.1; note the 1/2 and that
//                                                     the sum over the K outputs is not averaged —
//                                                     PyTorch's MSELoss(reduction="mean") is 2R/K)
//  cross-entropy:  R = (1/N) Σ_i [log Σ_k e^{f_ik} − f_{i,y_i}]   (PyTorch's CrossEntropyLoss)
#include <cstdint>
#include <string>

namespace condense {

enum class LossKind { mse, cross_entropy };

const char* loss_name(LossKind loss);
LossKind parse_loss(const std::string& name);  // "mse", "cross-entropy"

// The targets of a batch: `values` (N, K) for mse, `labels` (N) class indices for cross-entropy.
template <class T>
struct Targets {
  const T* values = nullptr;
  const int* labels = nullptr;
};

// Returns R over the batch and writes df: (N, K) = dR/df. Computed in double, whatever T is.
template <class T>
double loss_and_gradient(LossKind loss, const T* f, const Targets<T>& targets, int N, int K, T* df);

// dR/df_n: (K) of sample n alone, the same values loss_and_gradient writes into row n of df
// (both losses are sums over samples), for steps that go back through each sample at once.
template <class T>
void sample_loss_gradient(LossKind loss, const T* f_n, const Targets<T>& targets, std::int64_t n,
                          int N, int K, T* df_n);

// Loss only (evaluation): same value as loss_and_gradient.
template <class T>
double loss_value(LossKind loss, const T* f, const Targets<T>& targets, int N, int K);

// Number of correct predictions: argmax of f against labels (K > 1), or the sign of f against
// the sign of a ±1 target (K = 1 with values).
template <class T>
int count_correct(const T* f, const Targets<T>& targets, int N, int K);

}  // namespace condense
