#include "condense/train/loss.hpp"

#include <algorithm>
#include <cmath>

#include "condense/core/error.hpp"

namespace condense {

const char* loss_name(LossKind loss) {
  return loss == LossKind::mse ? "mse" : "cross-entropy";
}

LossKind parse_loss(const std::string& name) {
  if (name == "mse") return LossKind::mse;
  if (name == "cross-entropy") return LossKind::cross_entropy;
  fail_input("loss \"{}\" is not known; expected \"mse\" or \"cross-entropy\"", name);
}

namespace {

// Sample n's loss term; writes df_n = dR/df_n when df_n is not null.
template <class T>
double sample_term(LossKind loss, const T* f_n, const Targets<T>& targets, std::int64_t n, int N,
                   int K, T* df_n) {
  const double inv_n = 1.0 / N;
  if (loss == LossKind::mse) {
    double total = 0.0;
    const T* y = targets.values + n * K;
    for (int k = 0; k < K; ++k) {
      const double e = double(f_n[k]) - double(y[k]);
      total += e * e;
      if (df_n) df_n[k] = T(e * inv_n);
    }
    return total;
  }
  const int label = targets.labels[n];
  double largest = double(f_n[0]);
  for (int k = 1; k < K; ++k) largest = std::max(largest, double(f_n[k]));
  double sum = 0.0;
  for (int k = 0; k < K; ++k) sum += std::exp(double(f_n[k]) - largest);
  const double log_sum = largest + std::log(sum);
  if (df_n)
    for (int k = 0; k < K; ++k)
      df_n[k] = T((std::exp(double(f_n[k]) - log_sum) - (k == label ? 1.0 : 0.0)) * inv_n);
  return log_sum - double(f_n[label]);
}

template <class T>
double loss_impl(LossKind loss, const T* f, const Targets<T>& targets, int N, int K, T* df) {
  // The terms are summed in sample order; MSE's sum runs over the N·K entries in order, which is
  // the same thing, and is scaled by 1/2 at the end.
  double total = 0.0;
  for (int n = 0; n < N; ++n) {
    const std::int64_t at = std::int64_t(n) * K;
    if (loss == LossKind::mse) {
      for (int k = 0; k < K; ++k) {
        const double e = double(f[at + k]) - double(targets.values[at + k]);
        total += e * e;
      }
      if (df) sample_term(loss, f + at, targets, n, N, K, df + at);
    } else {
      total += sample_term(loss, f + at, targets, n, N, K, df ? df + at : nullptr);
    }
  }
  const double inv_n = 1.0 / N;
  return loss == LossKind::mse ? 0.5 * total * inv_n : total * inv_n;
}

}  // namespace

template <class T>
double loss_and_gradient(LossKind loss, const T* f, const Targets<T>& targets, int N, int K,
                         T* df) {
  return loss_impl(loss, f, targets, N, K, df);
}

template <class T>
double loss_value(LossKind loss, const T* f, const Targets<T>& targets, int N, int K) {
  return loss_impl<T>(loss, f, targets, N, K, nullptr);
}

template <class T>
int count_correct(const T* f, const Targets<T>& targets, int N, int K) {
  int correct = 0;
  for (int n = 0; n < N; ++n) {
    const T* row = f + std::int64_t(n) * K;
    if (targets.labels) {
      const int predicted = int(std::max_element(row, row + K) - row);
      correct += predicted == targets.labels[n];
    } else if (K == 1) {
      correct += (row[0] >= T(0)) == (targets.values[n] >= T(0));
    } else {
      const T* target = targets.values + std::int64_t(n) * K;
      correct +=
          (std::max_element(row, row + K) - row) == (std::max_element(target, target + K) - target);
    }
  }
  return correct;
}

template <class T>
void sample_loss_gradient(LossKind loss, const T* f_n, const Targets<T>& targets, std::int64_t n,
                          int N, int K, T* df_n) {
  sample_term(loss, f_n, targets, n, N, K, df_n);
}

template void sample_loss_gradient<float>(LossKind, const float*, const Targets<float>&,
                                          std::int64_t, int, int, float*);
template void sample_loss_gradient<double>(LossKind, const double*, const Targets<double>&,
                                           std::int64_t, int, int, double*);
template double loss_and_gradient<float>(LossKind, const float*, const Targets<float>&, int, int,
                                         float*);
template double loss_and_gradient<double>(LossKind, const double*, const Targets<double>&, int, int,
                                          double*);
template double loss_value<float>(LossKind, const float*, const Targets<float>&, int, int);
template double loss_value<double>(LossKind, const double*, const Targets<double>&, int, int);
template int count_correct<float>(const float*, const Targets<float>&, int, int);
template int count_correct<double>(const double*, const Targets<double>&, int, int);

}  // namespace condense
