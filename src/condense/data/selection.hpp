#pragma once
// Which records of a dataset split are used: the class subset, then the first n records in file
// order or a seeded class-balanced sample (reported in file order).
#include <cstdint>
#include <string>
#include <vector>

#include "condense/core/rng.hpp"

namespace condense {

// Indices, ascending, of the records whose label is one of `classes`.
std::vector<std::int64_t> records_of_classes(const std::vector<int>& labels,
                                             const std::vector<int>& classes);

// The first `count` of `candidates` (all of them when count is 0). InputError when fewer exist:
// `key` is the option ("data.train_size") and `available` describes what there is
// ("training images of /data/mnist/train-images-idx3-ubyte").
std::vector<std::int64_t> take_first(const std::vector<std::int64_t>& candidates, int count,
                                     const char* key, const std::string& available);

// `count / classes.size()` records of each class, drawn uniformly without replacement from the
// candidates of that class, returned ascending. count = 0 takes the largest balanced set: as many
// of each class as the rarest class has. InputError naming the short class when one is too rare.
std::vector<std::int64_t> take_balanced(const std::vector<int>& labels,
                                        const std::vector<std::int64_t>& candidates,
                                        const std::vector<int>& classes, int count, Rng& rng,
                                        const std::string& available);

}  // namespace condense
