#include "condense/data/selection.hpp"

#include <algorithm>
#include <limits>

#include "condense/core/error.hpp"

namespace condense {

std::vector<std::int64_t> records_of_classes(const std::vector<int>& labels,
                                             const std::vector<int>& classes) {
  std::vector<std::int64_t> records;
  for (std::size_t i = 0; i < labels.size(); ++i)
    if (std::find(classes.begin(), classes.end(), labels[i]) != classes.end())
      records.push_back(std::int64_t(i));
  return records;
}

std::vector<std::int64_t> take_first(const std::vector<std::int64_t>& candidates, int count,
                                     const char* key, const std::string& available) {
  if (count == 0) count = int(candidates.size());
  if (count == 0) fail_input("{} = all, but there are no {}", key, available);
  if (std::size_t(count) > candidates.size())
    fail_input("{} = {}, but only {} {} are available", key, count, candidates.size(), available);
  return {candidates.begin(), candidates.begin() + count};
}

std::vector<std::int64_t> take_balanced(const std::vector<int>& labels,
                                        const std::vector<std::int64_t>& candidates,
                                        const std::vector<int>& classes, int count, Rng& rng,
                                        const std::string& available) {
  std::vector<std::vector<std::int64_t>> by_class(classes.size());
  for (std::int64_t record : candidates) {
    const auto position = std::find(classes.begin(), classes.end(), labels[record]);
    by_class[position - classes.begin()].push_back(record);
  }
  std::size_t rarest = std::numeric_limits<std::size_t>::max();
  std::size_t rarest_class = 0;
  for (std::size_t c = 0; c < classes.size(); ++c)
    if (by_class[c].size() < rarest) rarest = by_class[c].size(), rarest_class = c;

  if (rarest == 0)
    fail_input(
        "data.subset = \"balanced\" needs images of each of the {} classes in use, but "
        "class {} has no {}",
        classes.size(), classes[rarest_class], available);
  const std::size_t per_class = count == 0 ? rarest : std::size_t(count) / classes.size();
  if (per_class > rarest)
    fail_input(
        "data.train_size = {} with data.subset = \"balanced\" needs {} images of each of "
        "the {} classes, but class {} has only {} {}; at most {} in all",
        count, per_class, classes.size(), classes[rarest_class], rarest, available,
        rarest * classes.size());

  std::vector<std::int64_t> chosen;
  for (auto& pool : by_class) {
    // Partial Fisher–Yates: the first per_class entries become a uniform sample without
    // replacement.
    for (std::size_t i = 0; i < per_class; ++i)
      std::swap(pool[i], pool[i + rng.below(pool.size() - i)]);
    chosen.insert(chosen.end(), pool.begin(), pool.begin() + std::ptrdiff_t(per_class));
  }
  std::sort(chosen.begin(), chosen.end());
  return chosen;
}

}  // namespace condense
