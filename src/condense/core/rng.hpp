#pragma once
// Seeded random numbers that are identical on every platform and build: the generator is
// std::mt19937_64 (fully specified by the standard) and the distributions are written here, since
// the standard library's distributions may differ between implementations.
#include <cmath>
#include <cstdint>
#include <random>

namespace condense {

class Rng {
 public:
  explicit Rng(std::uint64_t seed) : engine_(seed) {}

  // A stream for one purpose (one tensor, one data sample) derived from a seed and an index, so
  // that adding a layer or an override does not shift the numbers drawn for the others.
  static Rng stream(std::uint64_t seed, std::uint64_t index) {
    return Rng(splitmix(seed ^ splitmix(index + 0x9E3779B97F4A7C15ULL)));
  }

  // Uniform in [0, 1) with 53 random bits.
  double uniform() { return double(engine_() >> 11) * 0x1.0p-53; }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }

  // Standard normal by the Marsaglia polar method; the second value is kept for the next call.
  double normal() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    double u, v, s;
    do {
      u = 2.0 * uniform() - 1.0;
      v = 2.0 * uniform() - 1.0;
      s = u * u + v * v;
    } while (s >= 1.0 || s == 0.0);
    const double factor = std::sqrt(-2.0 * std::log(s) / s);
    spare_ = v * factor;
    has_spare_ = true;
    return u * factor;
  }

  // Uniform integer in [0, n).
  std::uint64_t below(std::uint64_t n) {
    // Rejection sampling removes the modulo bias.
    const std::uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    std::uint64_t r;
    do r = engine_();
    while (r >= limit);
    return r % n;
  }

  std::mt19937_64& engine() { return engine_; }

 private:
  static std::uint64_t splitmix(std::uint64_t x) {
    x += 0x9E3779B97F4A7C15ULL;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
  }

  std::mt19937_64 engine_;
  double spare_ = 0.0;
  bool has_spare_ = false;
};

}  // namespace condense
