#pragma once
// Work sharing with results that do not depend on the thread count: work is cut into blocks
// whose size is fixed by the problem, never by the number of threads, and every reduction over
// blocks is summed in block order. The same seed then gives bit-identical training with 1 or 16
// threads.
//
// Blocks are handed out as threads finish the last one (schedule(dynamic)), not split up front:
// on a shared machine one core is often slowed by other load, and with a fixed split the step
// waited for it (W1 and W2 steps 15–25 % faster with dynamic hand-out on a busy machine, the
// same bits). Which thread does a block never changes its result.
#include <omp.h>

#include <algorithm>
#include <cstdint>

namespace condense {

// Below this much work (about one multiply-add per unit) a loop runs on the calling thread: waking
// the team costs more than it saves, and far more when other processes hold the cores.
inline constexpr std::int64_t kMinParallelWork = 1 << 16;

inline int thread_count() { return omp_get_max_threads(); }
inline int thread_index() { return omp_get_thread_num(); }
// 0 = every core (or OMP_NUM_THREADS), as a new process starts, whatever was set before.
void set_thread_count(int threads);

// The calling thread's OpenMP thread count for a scope (a training run), as set_thread_count sets
// it; the count before is given back when the scope ends, so that a later run in the same process
// (the runs of an experiment, a Python session) gets its own count as a new process would.
class ThreadCountScope {
 public:
  explicit ThreadCountScope(int threads) : previous_(thread_count()) { set_thread_count(threads); }
  ~ThreadCountScope() { set_thread_count(previous_); }
  ThreadCountScope(const ThreadCountScope&) = delete;
  ThreadCountScope& operator=(const ThreadCountScope&) = delete;

 private:
  int previous_;
};

// Calls body(begin, end) for consecutive blocks [begin, end) of `block` items covering [0, n).
// `work` estimates the whole loop's cost; the blocks are the same whether or not it runs in
// parallel, so the result is too.
template <class Body>
void parallel_blocks(std::int64_t n, std::int64_t block, Body&& body,
                     std::int64_t work = kMinParallelWork) {
  const std::int64_t blocks = (n + block - 1) / block;
  if (blocks <= 1) {
    if (n > 0) body(std::int64_t{0}, n);
    return;
  }
#pragma omp parallel for schedule(dynamic) if (work >= kMinParallelWork)
  for (std::int64_t b = 0; b < blocks; ++b) body(b * block, std::min(n, (b + 1) * block));
}

// Calls body(i) for every i in [0, n), spread over the threads when `work` is large enough.
template <class Body>
void parallel_for(std::int64_t n, Body&& body, std::int64_t work = kMinParallelWork) {
#pragma omp parallel for schedule(dynamic) if (work >= kMinParallelWork && n > 1)
  for (std::int64_t i = 0; i < n; ++i) body(i);
}

}  // namespace condense
