#include "condense/analysis/records.hpp"

#include <fmt/format.h>

#include <cmath>
#include <limits>
#include <sstream>

#include "condense/core/atomic_file.hpp"
#include "condense/core/error.hpp"
#include "condense/core/npy.hpp"

namespace condense {

namespace {

std::string field(double value) {
  return std::isfinite(value) ? fmt::format("{:.10g}", value) : std::string();
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

std::vector<AnalysisRow> read_analysis_csv(const std::filesystem::path& path) {
  std::istringstream in(read_file(path));
  std::string line;
  std::getline(in, line);
  if (line != kAnalysisColumns)
    fail_input("{}: the header is \"{}\", expected \"{}\"", path.string(), line, kAnalysisColumns);
  std::vector<AnalysisRow> rows;
  long number_of_line = 1;
  while (std::getline(in, line)) {
    ++number_of_line;
    if (line.empty()) continue;
    std::vector<std::string> fields;
    std::stringstream ls(line);
    for (std::string f; std::getline(ls, f, ',');) fields.push_back(f);
    while (fields.size() < 11) fields.emplace_back();
    auto real = [](const std::string& f) {
      return f.empty() ? std::numeric_limits<double>::quiet_NaN() : std::stod(f);
    };
    try {
      AnalysisRow r;
      r.step = std::stol(fields[0]);
      r.layer = fields[1];
      r.mean_abs_cos = real(fields[2]);
      r.n_orientations = std::stoi(fields[3]);
      r.n_lines = std::stoi(fields[4]);
      r.n_negligible = std::stoi(fields[5]);
      r.effective_rank = real(fields[6]);
      r.norm = real(fields[7]);
      r.rd = real(fields[8]);
      r.align_v1 = real(fields[9]);
      r.align_v1_min = real(fields[10]);
      rows.push_back(r);
    } catch (const std::exception&) {
      fail_input("{}:{}: malformed analysis row \"{}\"", path.string(), number_of_line, line);
    }
  }
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
