#include "condense/data/targets.hpp"

#include <algorithm>

namespace condense {

void encode_targets(const DataSpec& spec, const std::vector<int>& classes, DataSplit& split) {
  const auto class_index = [&](int original) {
    return int(std::find(classes.begin(), classes.end(), original) - classes.begin());
  };
  const std::size_t n = split.original_labels.size();
  const int k = int(classes.size());
  split.labels.clear();
  split.targets.clear();
  switch (spec.target) {
    case TargetKind::class_index:
      split.target_width = k;
      for (int label : split.original_labels) split.labels.push_back(class_index(label));
      break;
    case TargetKind::onehot:
      split.target_width = k;
      split.targets.assign(n * std::size_t(k), 0.0);
      for (std::size_t i = 0; i < n; ++i)
        split.targets[i * std::size_t(k) + std::size_t(class_index(split.original_labels[i]))] =
            1.0;
      break;
    case TargetKind::binary: {
      const auto& positive = spec.positive_classes;
      split.target_width = 1;
      for (int label : split.original_labels)
        split.targets.push_back(
            std::find(positive.begin(), positive.end(), label) != positive.end() ? 1.0 : -1.0);
      break;
    }
    case TargetKind::regression:
      break;  // only sin has regression targets, and it draws them with its inputs
  }
}

}  // namespace condense
