#include "condense/core/parallel.hpp"

namespace condense {

void set_thread_count(int threads) {
  if (threads > 0) omp_set_num_threads(threads);
}

}  // namespace condense
