#include "condense/train/batches.hpp"

#include <algorithm>
#include <numeric>

#include "condense/core/rng.hpp"

namespace condense {

template <class T>
BatchMaker<T>::BatchMaker(const SplitView<T>& train, bool full_batch, int batch_size,
                          long batches_per_epoch, std::int64_t sample, int outputs,
                          std::uint64_t seed)
    : train_(train),
      full_batch_(full_batch),
      batch_size_(batch_size),
      batches_per_epoch_(batches_per_epoch),
      sample_(sample),
      outputs_(outputs),
      seed_(seed) {
  if (full_batch_) return;
  inputs_.resize(std::size_t(batch_size_) * sample_);
  if (train_.targets.values) values_.resize(std::size_t(batch_size_) * outputs_);
  if (train_.targets.labels) labels_.resize(std::size_t(batch_size_));
  order_.resize(std::size_t(train_.size));
}

template <class T>
Batch<T> BatchMaker<T>::at(long step) {
  Batch<T> batch;
  const int N = train_.size, K = outputs_;
  if (full_batch_) {
    batch.inputs = train_.inputs;
    batch.targets = train_.targets;
    batch.size = N;
    return batch;
  }
  const long epoch = step / batches_per_epoch_, index = step % batches_per_epoch_;
  if (epoch != order_epoch_) {
    std::iota(order_.begin(), order_.end(), 0);
    Rng rng = Rng::stream(seed_ ^ 0x6d696e6962617463ULL, std::uint64_t(epoch));
    for (int i = N - 1; i > 0; --i) std::swap(order_[i], order_[rng.below(std::uint64_t(i) + 1)]);
    order_epoch_ = epoch;
  }
  const int begin = int(index) * batch_size_, size = std::min(batch_size_, N - begin);
  for (int b = 0; b < size; ++b) {
    const int src = order_[std::size_t(begin + b)];
    std::copy_n(train_.inputs + std::int64_t(src) * sample_, sample_,
                inputs_.data() + std::int64_t(b) * sample_);
    if (train_.targets.values)
      std::copy_n(train_.targets.values + std::int64_t(src) * K, K,
                  values_.data() + std::int64_t(b) * K);
    if (train_.targets.labels) labels_[std::size_t(b)] = train_.targets.labels[src];
  }
  batch.inputs = inputs_.data();
  batch.targets.values = train_.targets.values ? values_.data() : nullptr;
  batch.targets.labels = train_.targets.labels ? labels_.data() : nullptr;
  batch.size = size;
  return batch;
}

template class BatchMaker<float>;
template class BatchMaker<double>;

}  // namespace condense
