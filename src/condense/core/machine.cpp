#include "condense/core/machine.hpp"

#include <omp.h>
#include <sys/resource.h>

#include <Eigen/Core>
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>

namespace condense {

double cpu_mhz() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("cpu MHz", 0) != 0) continue;
    const auto colon = line.find(':');
    if (colon != std::string::npos) return std::atof(line.c_str() + colon + 1);
  }
  return 0.0;
}

template <class T>
double measured_peak_gflops(int threads) {
  using Packet = typename Eigen::internal::packet_traits<T>::type;
  constexpr int kLanes = Eigen::internal::packet_traits<T>::size;
  constexpr int kChains = 10;
  constexpr long kIterations = 8'000'000;
  double best = 0.0;
  for (int attempt = 0; attempt < 3; ++attempt) {
    const auto start = std::chrono::steady_clock::now();
#pragma omp parallel num_threads(threads)
    {
      const Packet factor = Eigen::internal::pset1<Packet>(T(0.999999));
      const Packet step = Eigen::internal::pset1<Packet>(T(1e-7));
      // Ten named chains: in an array, the compiler kept them in memory between iterations.
      using Eigen::internal::pmadd;
      using Eigen::internal::pset1;
      Packet c0 = pset1<Packet>(T(1)), c1 = pset1<Packet>(T(2)), c2 = pset1<Packet>(T(3)),
             c3 = pset1<Packet>(T(4)), c4 = pset1<Packet>(T(5)), c5 = pset1<Packet>(T(6)),
             c6 = pset1<Packet>(T(7)), c7 = pset1<Packet>(T(8)), c8 = pset1<Packet>(T(9)),
             c9 = pset1<Packet>(T(10));
      for (long i = 0; i < kIterations; ++i) {
        c0 = pmadd(c0, factor, step);
        c1 = pmadd(c1, factor, step);
        c2 = pmadd(c2, factor, step);
        c3 = pmadd(c3, factor, step);
        c4 = pmadd(c4, factor, step);
        c5 = pmadd(c5, factor, step);
        c6 = pmadd(c6, factor, step);
        c7 = pmadd(c7, factor, step);
        c8 = pmadd(c8, factor, step);
        c9 = pmadd(c9, factor, step);
#if defined(__GNUC__) && defined(__x86_64__)
        // Keeps every multiply-add in the loop.
        __asm__ volatile(""
                         : "+x"(c0), "+x"(c1), "+x"(c2), "+x"(c3), "+x"(c4), "+x"(c5), "+x"(c6),
                           "+x"(c7), "+x"(c8), "+x"(c9));
#endif
      }
      const Packet chains[kChains] = {c0, c1, c2, c3, c4, c5, c6, c7, c8, c9};
      T sink = 0;
      for (int c = 0; c < kChains; ++c) sink += Eigen::internal::predux(chains[c]);
      if (sink == T(-1)) std::cerr << "";  // the result is used
    }
    const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
    const double flop = 2.0 * kLanes * kChains * double(kIterations) * threads;
    best = std::max(best, flop / elapsed.count() * 1e-9);
  }
  return best;
}

template double measured_peak_gflops<float>(int);
template double measured_peak_gflops<double>(int);

double peak_rss_mib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return double(usage.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
}

}  // namespace condense
