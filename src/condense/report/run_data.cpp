#include "condense/report/run_data.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "condense/core/atomic_file.hpp"
#include "condense/core/csv.hpp"
#include "condense/core/error.hpp"
#include "condense/core/npy.hpp"
#include "condense/rundir/layout.hpp"

namespace condense {

namespace fs = std::filesystem;

namespace {

// Steps of the folders named step_<k> under `parent`, ascending.
std::vector<long> step_folders(const fs::path& parent) {
  std::vector<long> steps;
  std::error_code error;
  if (!fs::is_directory(parent, error)) return steps;
  for (const auto& entry : fs::directory_iterator(parent, error)) {
    const std::string name = entry.path().filename().string();
    if (!entry.is_directory() || name.rfind("step_", 0) != 0) continue;
    try {
      std::size_t used = 0;
      const long step = std::stol(name.substr(5), &used);
      if (used == name.size() - 5 && step >= 0) steps.push_back(step);
    } catch (const std::exception&) {
    }
  }
  std::sort(steps.begin(), steps.end());
  return steps;
}

// Runs `read`, turning a failure into a note; returns whether it succeeded.
template <class Read>
bool try_read(const fs::path& path, std::vector<std::string>& notes, Read read) {
  std::error_code error;
  if (!fs::exists(path, error)) {
    notes.push_back(fmt::format("{} is missing", path.filename().string()));
    return false;
  }
  try {
    read();
    return true;
  } catch (const std::exception& e) {
    notes.push_back(fmt::format("{} could not be read: {}", path.filename().string(), e.what()));
    return false;
  }
}

}  // namespace

std::vector<AnalysisRow> RunData::rows_of(const std::string& layer) const {
  std::vector<AnalysisRow> rows;
  for (const auto& r : analysis)
    if (r.layer == layer) rows.push_back(r);
  return rows;
}

const AnalysisRow* RunData::row_at(const std::string& layer, long step) const {
  for (const auto& r : analysis)
    if (r.layer == layer && r.step == step) return &r;
  return nullptr;
}

const MetricsRow* RunData::metrics_at(long step) const {
  const auto it = std::lower_bound(metrics.begin(), metrics.end(), step,
                                   [](const MetricsRow& r, long s) { return r.step < s; });
  return it != metrics.end() && it->step == step ? &*it : nullptr;
}

long RunData::nearest_cosine_step(double step) const {
  long best = cosine_steps.front();
  for (long s : cosine_steps)
    if (std::abs(double(s) - step) < std::abs(double(best) - step)) best = s;
  return best;
}

std::optional<double> RunData::predicted_steps(const std::string& scale) const {
  if (!prediction) return std::nullopt;
  const auto found = prediction->steps.find(scale);
  return found == prediction->steps.end() ? std::nullopt : std::optional<double>(found->second);
}

std::string RunData::aligned_layer() const {
  for (const auto& r : analysis)
    if (std::isfinite(r.align_v1)) return r.layer;
  return "";
}

std::string RunData::status() const {
  return summary ? status_name(summary->status) : "unknown";
}

RunData load_run(const fs::path& root) {
  std::error_code error;
  if (!fs::is_directory(root, error))
    fail_input("{}: not a run directory (no such folder)", root.string());
  const RunDirectory dir{root};
  if (!fs::exists(dir.config(), error) && !fs::exists(dir.metrics(), error) &&
      !fs::exists(dir.analysis(), error) && !fs::exists(dir.summary(), error))
    fail_input(
        "{}: not a run directory (none of config.toml, metrics.csv, analysis.csv, "
        "summary.json is there)",
        root.string());

  RunData run;
  run.root = root;
  run.name = fs::absolute(root).lexically_normal().filename().string();
  if (run.name.empty())
    run.name = fs::absolute(root).lexically_normal().parent_path().filename().string();
  auto& notes = run.notes;
  try_read(dir.config(), notes, [&] { run.config_text = read_file(dir.config()); });
  try_read(dir.summary(), notes, [&] { run.summary = read_summary(dir.summary()); });
  // A damaged table is shown up to the damage, which the notes name by file and line.
  auto damaged = [&](const std::string& damage, std::size_t rows) {
    if (!damage.empty())
      notes.push_back(fmt::format("{}; the {} rows before it are shown", damage, rows));
  };
  try_read(dir.metrics(), notes, [&] {
    std::string damage;
    run.metrics = read_metrics(dir.metrics(), CsvDamage::stop, &damage);
    damaged(damage, run.metrics.size());
  });
  try_read(dir.analysis(), notes, [&] {
    std::string damage;
    run.analysis = read_analysis_csv(dir.analysis(), CsvDamage::stop, &damage);
    damaged(damage, run.analysis.size());
  });
  // The prediction exists only for models the theory covers; its absence is not a fault.
  if (fs::exists(dir.prediction(), error)) {
    try_read(dir.prediction(), notes,
             [&] { run.prediction = read_prediction_record(dir.prediction()); });
    try_read(dir.predicted_alignment(), notes, [&] {
      const CsvTable table = read_csv(dir.predicted_alignment());
      const std::size_t step = table.column("step"),
                        alignment = table.column("predicted_alignment");
      for (std::size_t r = 0; r < table.rows.size(); ++r)
        run.predicted_alignment.emplace_back(long(table.number(r, step)),
                                             table.number(r, alignment));
    });
  }
  if (run.summary && run.summary->status != RunStatus::completed)
    notes.push_back(fmt::format("the run's status is \"{}\"{}", run.status(),
                                run.summary->message.empty() ? "" : ": " + run.summary->message));

  run.cosine_steps = step_folders(dir.cosines_root());
  const bool cosines_off =
      run.config_text && run.config_text->find("save_cosines = false") != std::string::npos;
  if (run.cosine_steps.empty())
    notes.push_back(cosines_off ? "track.save_cosines = false: no cosine matrices, so no heatmaps "
                                  "(condense analyze RUN writes them from the snapshots)"
                                : "no cosine matrices (cosines/step_<k>/) were written");
  // Layers in network order: their first appearance in analysis.csv, kept when a matrix exists.
  std::vector<std::string> candidates;
  for (const auto& r : run.analysis)
    if (std::find(candidates.begin(), candidates.end(), r.layer) == candidates.end())
      candidates.push_back(r.layer);
  if (run.cosine_steps.empty()) {
    // Without matrices, the layers whose kernels the analysis compared (mean |cos| measured).
    for (const auto& layer : candidates)
      if (std::any_of(run.analysis.begin(), run.analysis.end(), [&](const AnalysisRow& r) {
            return r.layer == layer && std::isfinite(r.mean_abs_cos);
          }))
        run.layers.push_back(layer);
  } else {
    const fs::path last = dir.cosines(run.cosine_steps.back());
    if (candidates.empty())  // no analysis.csv: take the layers from the files
      for (const auto& entry : fs::directory_iterator(last, error)) {
        const std::string file = entry.path().filename().string();
        if (file.size() > 4 && file.ends_with(".npy") && !file.ends_with(".order.npy"))
          candidates.push_back(file.substr(0, file.size() - 4));
      }
    for (const auto& layer : candidates) {
      const fs::path matrix = last / (layer + ".npy");
      if (!fs::exists(matrix, error)) continue;
      try {
        const NpyArray a = read_npy(matrix);
        if (a.shape.size() == 2 && a.shape[0] >= 2) run.layers.push_back(layer);
      } catch (const std::exception& e) {
        notes.push_back(fmt::format("{}: {}", matrix.string(), e.what()));
      }
    }
  }
  return run;
}

std::optional<CosineMatrix> load_cosines(const RunData& run, long step, const std::string& layer,
                                         std::vector<std::string>* notes) {
  const RunDirectory dir{run.root};
  const fs::path matrix_path = dir.cosines(step) / (layer + ".npy");
  const fs::path order_path = dir.cosines(step) / (layer + ".order.npy");
  try {
    const NpyArray matrix = read_npy(matrix_path);
    if (matrix.shape.size() != 2 || matrix.shape[0] != matrix.shape[1])
      fail_input("{}: shape {}, expected a square matrix (M, M)", matrix_path.string(),
                 shape_string(matrix.shape));
    const long m = long(matrix.shape[0]);
    CosineMatrix result;
    result.step = step;
    result.layer = layer;
    result.cosines = Eigen::Map<const Matrix<double>>(matrix.values.data(), m, m);
    std::error_code error;
    if (fs::exists(order_path, error)) {
      const NpyArray order = read_npy(order_path);
      std::vector<bool> seen(std::size_t(m), false);
      for (double v : order.values) {
        // Checked as a double first: NaN or 1e300 made a long is undefined behaviour.
        if (!(v >= 0 && v < double(m) && v == std::floor(v)))
          fail_input("{}: not a permutation of 0..{} (holds {})", order_path.string(), m - 1, v);
        const long k = long(v);
        if (seen[std::size_t(k)])
          fail_input("{}: not a permutation of 0..{}", order_path.string(), m - 1);
        seen[std::size_t(k)] = true;
        result.order.push_back(k);
      }
      if (long(result.order.size()) != m)
        fail_input("{}: {} entries, expected {}", order_path.string(), result.order.size(), m);
    } else {
      for (long k = 0; k < m; ++k) result.order.push_back(k);
    }
    return result;
  } catch (const std::exception& e) {
    if (notes) notes->push_back(e.what());
    return std::nullopt;
  }
}

std::optional<std::pair<std::vector<std::int64_t>, std::vector<double>>> load_snapshot_parameter(
    const RunData& run, long step, const std::string& name) {
  const fs::path path = RunDirectory{run.root}.snapshot(step) / (name + ".npy");
  std::error_code error;
  if (!fs::exists(path, error)) return std::nullopt;
  try {
    NpyArray a = read_npy(path);
    return std::make_pair(a.shape, std::move(a.values));
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::vector<long> snapshot_steps(const RunData& run) {
  return step_folders(RunDirectory{run.root}.snapshots());
}

}  // namespace condense
