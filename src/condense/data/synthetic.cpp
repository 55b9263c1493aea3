#include "condense/data/synthetic.hpp"

#include <cmath>

namespace condense {

DataSplit draw_sin(const SinSpec& sin, int count, Rng& rng) {
  DataSplit split;
  split.shape = FeatureShape{sin.dim, 1, 1};
  split.size = count;
  split.target_width = 1;
  split.inputs.resize(std::size_t(count) * std::size_t(sin.dim));
  split.targets.resize(std::size_t(count));
  for (int i = 0; i < count; ++i) {
    double y = 0.0;
    for (int k = 0; k < sin.dim; ++k) {
      const double x = rng.uniform(sin.low, sin.high);
      split.inputs[std::size_t(i) * std::size_t(sin.dim) + std::size_t(k)] = x;
      y += sin.amplitude * std::sin(sin.frequency * x + sin.phase);
    }
    split.targets[std::size_t(i)] = y;
  }
  return split;
}

std::vector<double> draw_teacher(const GaussianSpec& gaussian, Rng& rng) {
  std::vector<double> teacher(std::size_t(gaussian.classes) * std::size_t(gaussian.shape.size()));
  for (double& entry : teacher) entry = rng.normal();
  return teacher;
}

DataSplit draw_gaussian(const GaussianSpec& gaussian, const std::vector<double>& teacher, int count,
                        Rng& rng) {
  const std::size_t d = std::size_t(gaussian.shape.size());
  const bool random_labels = gaussian.labels == "random";
  DataSplit split;
  split.shape = gaussian.shape;
  split.size = count;
  split.inputs.resize(std::size_t(count) * d);
  split.original_labels.resize(std::size_t(count));
  for (std::size_t i = 0; i < std::size_t(count); ++i) {
    const double* x = split.inputs.data() + i * d;
    for (std::size_t j = 0; j < d; ++j) split.inputs[i * d + j] = rng.normal();
    if (random_labels) {
      split.original_labels[i] = int(rng.below(std::uint64_t(gaussian.classes)));
      continue;
    }
    int best = 0;
    double best_score = 0.0;
    for (int c = 0; c < gaussian.classes; ++c) {
      const double* row = teacher.data() + std::size_t(c) * d;
      double score = 0.0;
      for (std::size_t j = 0; j < d; ++j) score += row[j] * x[j];
      if (c == 0 || score > best_score) best = c, best_score = score;
    }
    split.original_labels[i] = best;
  }
  return split;
}

}  // namespace condense
