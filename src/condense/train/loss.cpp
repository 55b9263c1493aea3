#include "condense/train/loss.hpp"

#include <algorithm>
#include <cmath>

#include "condense/core/error.hpp"

namespace condense {

const char* loss_name(LossKind loss) { return loss == LossKind::mse ? "mse" : "cross-entropy"; }

LossKind parse_loss(const std::string& name) {
  if (name == "mse") return LossKind::mse;
  if (name == "cross-entropy") return LossKind::cross_entropy;
  fail_input("loss \"{}\" is not known; expected \"mse\" or \"cross-entropy\"", name);
}

namespace {

template <class T>
double loss_impl(LossKind loss, const T* f, const Targets<T>& targets, int N, int K, T* df) {
  double total = 0.0;
  const double inv_n = 1.0 / N;
  if (loss == LossKind::mse) {
    for (std::int64_t i = 0; i < std::int64_t(N) * K; ++i) {
      const double e = double(f[i]) - double(targets.values[i]);
      total += e * e;
      if (df) df[i] = T(e * inv_n);
    }
    return 0.5 * total * inv_n;
  }
  for (int n = 0; n < N; ++n) {
    const T* row = f + std::int64_t(n) * K;
    const int label = targets.labels[n];
    double largest = double(row[0]);
    for (int k = 1; k < K; ++k) largest = std::max(largest, double(row[k]));
    double sum = 0.0;
    for (int k = 0; k < K; ++k) sum += std::exp(double(row[k]) - largest);
    const double log_sum = largest + std::log(sum);
    total += log_sum - double(row[label]);
    if (df) {
      T* drow = df + std::int64_t(n) * K;
      for (int k = 0; k < K; ++k)
        drow[k] = T((std::exp(double(row[k]) - log_sum) - (k == label ? 1.0 : 0.0)) * inv_n);
    }
  }
  return total * inv_n;
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
      correct += (std::max_element(row, row + K) - row) ==
                 (std::max_element(target, target + K) - target);
    }
  }
  return correct;
}

template double loss_and_gradient<float>(LossKind, const float*, const Targets<float>&, int, int,
                                         float*);
template double loss_and_gradient<double>(LossKind, const double*, const Targets<double>&, int,
                                          int, double*);
template double loss_value<float>(LossKind, const float*, const Targets<float>&, int, int);
template double loss_value<double>(LossKind, const double*, const Targets<double>&, int, int);
template int count_correct<float>(const float*, const Targets<float>&, int, int);
template int count_correct<double>(const double*, const Targets<double>&, int, int);

}  // namespace condense
