#include "condense/data/normalization.hpp"

#include <cmath>

#include "condense/core/error.hpp"

namespace condense {

Normalization fit_normalization(Normalize kind, const FeatureShape& shape,
                                const std::vector<double>& train, const std::string& source) {
  if (kind == Normalize::none) return {};
  // standard pools every channel into one group; per-channel keeps one group per channel.
  const std::size_t groups = kind == Normalize::standard ? 1 : std::size_t(shape.channels);
  const std::size_t plane = std::size_t(shape.height) * std::size_t(shape.width);
  const std::size_t samples = train.size() / std::size_t(shape.size());
  const auto group_of = [&](std::size_t value) {
    return groups == 1 ? 0 : (value / plane) % groups;
  };
  Normalization statistics{std::vector<double>(groups, 0.0), std::vector<double>(groups, 0.0)};
  const double per_group = double(samples) * double(shape.size()) / double(groups);
  // Two passes (mean, then squared deviations) keep the variance accurate for pixel-sized means.
  for (std::size_t i = 0; i < train.size(); ++i) statistics.mean[group_of(i)] += train[i];
  for (double& mean : statistics.mean) mean /= per_group;
  for (std::size_t i = 0; i < train.size(); ++i) {
    const double deviation = train[i] - statistics.mean[group_of(i)];
    statistics.std[group_of(i)] += deviation * deviation;
  }
  for (std::size_t g = 0; g < groups; ++g) {
    statistics.std[g] = std::sqrt(statistics.std[g] / per_group);
    if (!(statistics.std[g] > 0.0))
      fail_input(
          "cannot normalize {}: every training input{} equals {}, so its standard "
          "deviation is 0; use data.normalize = \"none\"",
          source, groups == 1 ? "" : fmt::format(" of channel {}", g), statistics.mean[g]);
  }
  return statistics;
}

void apply_normalization(const Normalization& statistics, const FeatureShape& shape,
                         std::vector<double>& inputs) {
  const std::size_t groups = statistics.mean.size();
  if (groups == 0) return;
  const std::size_t plane = std::size_t(shape.height) * std::size_t(shape.width);
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const std::size_t g = groups == 1 ? 0 : (i / plane) % groups;
    inputs[i] = (inputs[i] - statistics.mean[g]) / statistics.std[g];
  }
}

}  // namespace condense
