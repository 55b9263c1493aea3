#include "condense/core/parallel.hpp"

#include <cstdlib>
#include <string>

namespace condense {

namespace {

// Every core, or OMP_NUM_THREADS when it names a count: what a new process starts with, whatever
// the process has set since (PyTorch, imported first, may have set 1).
int default_thread_count() {
  if (const char* value = std::getenv("OMP_NUM_THREADS")) {
    char* end = nullptr;
    const long count = std::strtol(value, &end, 10);
    if (end != value && count > 0 && count <= 4096) return int(count);
  }
  return omp_get_num_procs();
}

}  // namespace

void set_thread_count(int threads) {
  omp_set_num_threads(threads > 0 ? threads : default_thread_count());
}

}  // namespace condense
