#include "condense/rundir/cosines.hpp"

#include <cmath>

#include "condense/core/npy.hpp"

namespace condense {

namespace {

nlohmann::json number(double value) {
  return std::isfinite(value) ? nlohmann::json(value) : nlohmann::json(nullptr);
}

}  // namespace

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
