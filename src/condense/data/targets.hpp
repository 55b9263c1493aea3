#pragma once
// What the model is trained to output for each sample of a classification dataset.
#include <vector>

#include "condense/data/dataset.hpp"

namespace condense {

// From split.original_labels, fills split.labels (target "class"), or split.targets (N, K) for
// "onehot" and "binary", and split.target_width. `classes` are the class ids in use, in the order
// that re-indexes them 0..K−1. Formulas: docs/data.md.
void encode_targets(const DataSpec& spec, const std::vector<int>& classes, DataSplit& split);

}  // namespace condense
