#pragma once
// The batches a run trains on: the whole training split in full-batch training, else mini-batches
// of rows gathered by a seeded permutation of each epoch.
#include <cstdint>
#include <vector>

#include "condense/train/loss.hpp"
#include "condense/train/step.hpp"

namespace condense {

// One split of the data in the model's scalar type.
template <class T>
struct SplitView {
  const T* inputs = nullptr;  // (N, C, H, W)
  Targets<T> targets;
  int size = 0;
};

template <class T>
class BatchMaker {
 public:
  // `sample`: the values of one input (C·H·W); `outputs`: K, the width of a target row.
  BatchMaker(const SplitView<T>& train, bool full_batch, int batch_size, long batches_per_epoch,
             std::int64_t sample, int outputs, std::uint64_t seed);

  // The batch of `step`, valid until the next call. The permutation of an epoch depends only on
  // (seed, epoch): a resumed run draws the same batches.
  Batch<T> at(long step);

 private:
  const SplitView<T>& train_;
  bool full_batch_;
  int batch_size_;
  long batches_per_epoch_;
  std::int64_t sample_;
  int outputs_;
  std::uint64_t seed_;
  std::vector<T> inputs_, values_;  // mini-batch copies of the gathered rows
  std::vector<int> labels_, order_;
  long order_epoch_ = -1;
};

}  // namespace condense
