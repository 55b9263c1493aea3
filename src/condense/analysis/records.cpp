#include "condense/analysis/records.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cmath>
#include <limits>
#include <sstream>

#include "condense/core/atomic_file.hpp"
#include "condense/core/csv.hpp"
#include "condense/core/error.hpp"
#include "condense/core/npy.hpp"

namespace condense {

namespace {

std::string field(double value) {
  return std::isfinite(value) ? fmt::format("{}", value) : std::string();
}

nlohmann::json number(double value) {
  return std::isfinite(value) ? nlohmann::json(value) : nlohmann::json(nullptr);
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

nlohmann::json measures_json(const LayerMeasures& measures) {
  const KernelMeasures& k = measures.kernels;
  nlohmann::json j;
  j["layer"] = measures.layer;
  j["kernels"] = k.kernels;
  j["kernel_size"] = k.kernel_size;
  j["mean_abs_cos"] = number(k.mean_abs_cos);
  j["n_orientations"] = k.n_orientations;
  j["n_lines"] = k.n_lines;
  j["n_negligible"] = k.n_negligible;
  j["effective_rank"] = number(k.effective_rank);
  j["norm"] = number(measures.norm);
  j["rd"] = number(measures.rd);
  j["align_v1"] = number(k.align);
  j["align_v1_min"] = number(k.align_min);
  j["orientation_sizes"] = k.clusters.orientation_sizes;
  j["line_sizes"] = k.clusters.line_sizes;
  j["orientation_of_kernel"] = k.clusters.orientation;  // −1: negligible
  j["line_of_kernel"] = k.clusters.line;
  j["order"] = k.clusters.order;
  return j;
}

void write_cosines(const std::filesystem::path& directory,
                   const std::vector<LayerMeasures>& measures, Flush flush) {
  make_directories(directory);
  nlohmann::json clusters = nlohmann::json::object();
  for (const LayerMeasures& m : measures) {
    const KernelMeasures& k = m.kernels;
    // float32 keeps cosines to 7 digits, plenty for heatmaps, at half the disk of float64.
    write_npy(directory / (m.layer + ".npy"), k.cosines.data(),
              {std::int64_t(k.kernels), std::int64_t(k.kernels)}, NpyType::float32, flush);
    write_npy(directory / (m.layer + ".order.npy"), k.clusters.order.data(),
              {std::int64_t(k.kernels)}, flush);
    clusters[m.layer] = measures_json(m);
  }
  write_file_atomic(directory / "clusters.json", clusters.dump(1) + "\n", flush);
}

}  // namespace condense
