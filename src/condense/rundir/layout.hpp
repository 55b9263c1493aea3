#pragma once
// The layout of a run directory, written down once (docs/run-directory.md is its twin):
//
//   RUN/config.toml                       the fully resolved config
//   RUN/metrics.csv                       step, epoch, time_s, lr, train_loss, train_acc,
//   test_loss, test_acc RUN/snapshots/index.csv               step, path
//   RUN/snapshots/step_<k>/<param>.npy    every parameter after k optimizer steps (PyTorch names)
//   RUN/checkpoint/state.bin              everything needed to continue
//   RUN/summary.json                      status, hash, versions, machine, times, final metrics
//   RUN/analysis.csv                      step, layer, condensation measures (docs/analysis.md)
//   RUN/cosines/step_<k>/<layer>.npy      cosine matrix (M, M), <layer>.order.npy, clusters.json
//   RUN/prediction.json, RUN/v1.npy       the theory's prediction (theory)
//   RUN/predicted_alignment.csv           step, time, predicted mean |cos(W_β, v₁)| from step 0
//   RUN/figures/<name>.{png,pdf,gp}       figures and their gnuplot scripts; data/ behind them
//   RUN/report.html                       the self-contained report (docs/report.md)
//   RUN/.condense-run                     the marker of a directory condense made
#include <filesystem>
#include <string>

namespace condense {

struct RunDirectory {
  std::filesystem::path root;

  std::filesystem::path config() const { return root / "config.toml"; }
  std::filesystem::path metrics() const { return root / "metrics.csv"; }
  std::filesystem::path summary() const { return root / "summary.json"; }
  std::filesystem::path snapshots() const { return root / "snapshots"; }
  std::filesystem::path snapshot_index() const { return snapshots() / "index.csv"; }
  std::filesystem::path snapshot(long step) const {
    return snapshots() / ("step_" + std::to_string(step));
  }
  std::filesystem::path checkpoint_dir() const { return root / "checkpoint"; }
  std::filesystem::path checkpoint() const { return checkpoint_dir() / "state.bin"; }
  std::filesystem::path analysis() const { return root / "analysis.csv"; }
  std::filesystem::path cosines_root() const { return root / "cosines"; }
  std::filesystem::path cosines(long step) const {
    return cosines_root() / ("step_" + std::to_string(step));
  }
  std::filesystem::path prediction() const { return root / "prediction.json"; }
  std::filesystem::path v1() const { return root / "v1.npy"; }
  std::filesystem::path predicted_alignment() const { return root / "predicted_alignment.csv"; }
  std::filesystem::path figures() const { return root / "figures"; }
  std::filesystem::path report() const { return root / "report.html"; }
  // Written first, when the directory is made: --overwrite replaces only what condense made.
  std::filesystem::path marker() const { return root / ".condense-run"; }
};

// Whether run.root is a directory condense made for a run: its marker, or (runs written before the
// marker) config.toml with summary.json or the snapshot index beside it.
inline bool is_run_directory(const RunDirectory& run) {
  std::error_code error;
  return std::filesystem::exists(run.marker(), error) ||
         (std::filesystem::exists(run.config(), error) &&
          (std::filesystem::exists(run.summary(), error) ||
           std::filesystem::exists(run.snapshot_index(), error)));
}

}  // namespace condense
