#pragma once
// The analysis on disk: rows of analysis.csv, and per snapshot each layer's cosine matrix and
// cluster-sorted order and the clusters of every layer (docs/analysis.md). Callers pass the paths;
// the run directory's layout lives in train/run_directory.hpp.
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "condense/analysis/measures.hpp"
#include "condense/core/atomic_file.hpp"
#include "condense/core/csv.hpp"

namespace condense {

// One row of analysis.csv. NaN fields are written empty.
struct AnalysisRow {
  long step = 0;
  std::string layer;
  double mean_abs_cos = 0;
  int n_orientations = 0, n_lines = 0, n_negligible = 0;
  double effective_rank = 0, norm = 0, rd = 0;
  double align_v1 = 0, align_v1_min = 0;
};

inline constexpr const char* kAnalysisColumns =
    "step,layer,mean_abs_cos,n_orientations,n_lines,n_negligible,effective_rank,norm,rd,align_v1,"
    "align_v1_min";

AnalysisRow analysis_row(long step, const LayerMeasures& measures);
std::string analysis_csv(const std::vector<AnalysisRow>& rows);  // with the header line
// Reads analysis.csv. A damaged row (a field that is not a number or a count, a line cut short,
// steps going back) is an InputError naming the file and line, or with CsvDamage::stop the end of
// the rows returned, described in *damage.
std::vector<AnalysisRow> read_analysis_csv(const std::filesystem::path& path,
                                           CsvDamage on_damage = CsvDamage::fail,
                                           std::string* damage = nullptr);

// Clusters, sizes and measures of one layer, as JSON (NaN as null).
nlohmann::json measures_json(const LayerMeasures& measures);

// Writes, atomically, for every layer DIR/<layer>.npy (the (M, M) cosine matrix, float32) and
// DIR/<layer>.order.npy (the cluster-sorted kernel order, int64), and DIR/clusters.json with every
// layer's measures_json (core/atomic_file.hpp for `flush`).
void write_cosines(const std::filesystem::path& directory,
                   const std::vector<LayerMeasures>& measures, Flush flush = Flush::now);

}  // namespace condense
