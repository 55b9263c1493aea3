#pragma once
// RUN/cosines/step_<k>/: per snapshot, each layer's cosine matrix and cluster-sorted kernel order,
// and the clusters and measures of every layer (docs/analysis.md). Callers pass the folder; the
// layout lives in rundir/layout.hpp.
#include <filesystem>
#include <nlohmann/json.hpp>
#include <vector>

#include "condense/analysis/measures.hpp"
#include "condense/core/atomic_file.hpp"

namespace condense {

// Clusters, sizes and measures of one layer, as JSON (NaN as null).
nlohmann::json measures_json(const LayerMeasures& measures);

// Writes, atomically, for every layer DIR/<layer>.npy (the (M, M) cosine matrix, float32) and
// DIR/<layer>.order.npy (the cluster-sorted kernel order, int64), and DIR/clusters.json with every
// layer's measures_json (core/atomic_file.hpp for `flush`).
void write_cosines(const std::filesystem::path& directory,
                   const std::vector<LayerMeasures>& measures, Flush flush = Flush::now);

}  // namespace condense
