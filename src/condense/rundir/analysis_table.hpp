#pragma once
// RUN/analysis.csv: the condensation measures of every layer at every snapshot step
// (docs/analysis.md). Callers pass the path; the layout lives in rundir/layout.hpp.
#include <filesystem>
#include <string>
#include <vector>

#include "condense/analysis/measures.hpp"
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

}  // namespace condense
