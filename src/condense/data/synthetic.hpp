#pragma once
// Synthetic datasets, drawn from seeded streams: the sin regression task of the FC condensation
// experiments (docs/science.md §3.5) and Gaussian images with teacher or random labels.
#include <vector>

#include "condense/core/rng.hpp"
#include "condense/data/dataset.hpp"

namespace condense {

// `count` points x (dim, 1, 1), x_k ~ U[low, high] i.i.d., drawn sample after sample, with the
// regression target y = Σ_k amplitude·sin(frequency·x_k + phase) (targets (N, 1)).
DataSplit draw_sin(const SinSpec& sin, int count, Rng& rng);

// The teacher T (classes, C·H·W), entries N(0, 1).
std::vector<double> draw_teacher(const GaussianSpec& gaussian, Rng& rng);

// `count` images with N(0, 1) pixels and their original labels: argmax_c (T x)_c with the teacher
// (labels = "teacher"), or uniform over the classes (labels = "random", drawn after each image).
// Only inputs and original_labels are filled.
DataSplit draw_gaussian(const GaussianSpec& gaussian, const std::vector<double>& teacher, int count,
                        Rng& rng);

}  // namespace condense
