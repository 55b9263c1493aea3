#include "condense/rundir/analysis_table.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cmath>
#include <limits>

#include "condense/core/csv.hpp"
#include "condense/core/error.hpp"

namespace condense {

namespace {

std::string field(double value) {
  return std::isfinite(value) ? fmt::format("{}", value) : std::string();
}

}  // namespace

AnalysisRow analysis_row(long step, const LayerMeasures& measures) {
  const KernelMeasures& k = measures.kernels;
  AnalysisRow row;
  row.step = step;
  row.layer = measures.layer;
  row.mean_abs_cos = k.mean_abs_cos;
  row.n_orientations = k.n_orientations;
  row.n_lines = k.n_lines;
  row.n_negligible = k.n_negligible;
  row.effective_rank = k.effective_rank;
  row.norm = measures.norm;
  row.rd = measures.rd;
  row.align_v1 = k.align;
  row.align_v1_min = k.align_min;
  return row;
}

std::string analysis_csv(const std::vector<AnalysisRow>& rows) {
  std::string text = std::string(kAnalysisColumns) + "\n";
  for (const auto& r : rows)
    text +=
        fmt::format("{},{},{},{},{},{},{},{},{},{},{}\n", r.step, r.layer, field(r.mean_abs_cos),
                    r.n_orientations, r.n_lines, r.n_negligible, field(r.effective_rank),
                    field(r.norm), field(r.rd), field(r.align_v1), field(r.align_v1_min));
  return text;
}

std::vector<AnalysisRow> read_analysis_csv(const std::filesystem::path& path, CsvDamage on_damage,
                                           std::string* damage) {
  CsvTable table = read_csv(path, on_damage);
  const std::string header = fmt::format("{}", fmt::join(table.header, ","));
  if (header != kAnalysisColumns)
    fail_input("{}: the header is \"{}\", expected \"{}\"", path.string(), header,
               kAnalysisColumns);
  std::vector<AnalysisRow> rows;
  parse_rows(table, on_damage, [&](std::size_t r) {
    auto count = [&](std::size_t column) {
      const long value = table.integer(r, column);
      if (value < 0 || value > std::numeric_limits<int>::max())
        fail_input("{}: column {} is {}, expected a count ≥ 0", table.where(r),
                   table.header[column], value);
      return int(value);
    };
    auto real = [&](std::size_t column) {
      const double value = table.number(r, column);  // NaN: empty, not measured
      if (std::isinf(value) || (std::isnan(value) && !table.rows[r][column].empty()))
        fail_input("{}: column {} is {}, expected a finite number or nothing", table.where(r),
                   table.header[column], table.rows[r][column]);
      return value;
    };
    AnalysisRow row;
    row.step = table.integer(r, 0);
    if (row.step < 0 || (!rows.empty() && row.step < rows.back().step))
      fail_input("{}: step {} comes after step {}: the steps must not decrease", table.where(r),
                 row.step, rows.empty() ? 0 : rows.back().step);
    row.layer = table.rows[r][1];
    if (row.layer.empty()) fail_input("{}: the layer is empty", table.where(r));
    row.mean_abs_cos = real(2);
    row.n_orientations = count(3);
    row.n_lines = count(4);
    row.n_negligible = count(5);
    row.effective_rank = real(6);
    row.norm = real(7);
    row.rd = real(8);
    row.align_v1 = real(9);
    row.align_v1_min = real(10);
    rows.push_back(row);
  });
  if (damage) *damage = table.damage;
  return rows;
}

}  // namespace condense
