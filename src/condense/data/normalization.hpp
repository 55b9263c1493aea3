#pragma once
// Input normalization with statistics of the training inputs only (the test split reuses them, so
// it sees exactly the transformation the model was trained on). Formulas: docs/data.md.
#include <string>
#include <vector>

#include "condense/core/types.hpp"
#include "condense/data/dataset.hpp"

namespace condense {

struct Normalization {
  std::vector<double> mean, std;  // 1 value (standard), C values (per-channel) or none
};

// Mean and population standard deviation of `train` (N, C, H, W): over every value (standard) or
// per channel (per-channel). InputError when a standard deviation is zero (constant inputs);
// `source` names the data in that message.
Normalization fit_normalization(Normalize kind, const FeatureShape& shape,
                                const std::vector<double>& train, const std::string& source);

// inputs (N, C, H, W) ← (inputs − mean) / std, with the statistic of each value's channel.
void apply_normalization(const Normalization& statistics, const FeatureShape& shape,
                         std::vector<double>& inputs);

}  // namespace condense
