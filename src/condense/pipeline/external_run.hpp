#pragma once
// A run trained outside condense, written as condense writes its own runs (docs/python.md): the
// Python package's tracker hands it the weights at snapshot steps while a PyTorch training goes on,
// and its checkpoint import the weights of each saved checkpoint. The run directory gets the same
// files as `condense train` writes, except the checkpoint: config.toml (an [external] table and the
// track settings), snapshots, metrics.csv, analysis.csv and cosines/ (CondensationRecorder), and
// summary.json; `condense report`, `analyze` and `compare` read it like any other.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "condense/config/config.hpp"
#include "condense/core/npy.hpp"
#include "condense/pipeline/condensation_tracking.hpp"
#include "condense/rundir/layout.hpp"
#include "condense/rundir/metrics.hpp"
#include "condense/rundir/summary.hpp"

namespace condense {

struct ExternalTensor {
  std::string name;  // "layer1.0.conv1.weight"
  std::vector<std::int64_t> shape;
  std::vector<double> values;         // row-major
  NpyType stored = NpyType::float32;  // the snapshot file's dtype: the weights' own
};

class ExternalRun {
 public:
  // Checks that `root` can take a new run (a new or empty directory, or with `overwrite` one that
  // condense made: `overwrite_option` names the option in messages), makes it with its marker and
  // writes config.toml. `config` must describe a run trained outside condense (config.external).
  ExternalRun(const std::filesystem::path& root, const RunConfig& config, bool overwrite,
              const std::string& overwrite_option, bool quiet);

  // Rewrites config.toml with a new description of what trained the run (an optimizer known only
  // once training starts), the track settings unchanged.
  void describe(const ExternalTraining& external);

  // Saves `tensors` as RUN/snapshots/step_<step>/<name>.npy and measures their conv and linear
  // layers (RUN/analysis.csv and RUN/cosines/step_<step>/, written in the background). Steps must
  // increase. A layer holding NaN or infinite values is saved but not measured; the return value
  // lists those ("<layer>: <why>").
  std::vector<std::string> snapshot(long step, const std::vector<ExternalTensor>& tensors);

  // Rewrites RUN/metrics.csv (`extra_columns` after the known ones) and RUN/snapshots/index.csv,
  // and flushes the snapshot files written since the last call to disk.
  void write_tables(const std::vector<MetricsRow>& rows,
                    const std::vector<std::string>& extra_columns);

  // Waits for the measures' files and writes RUN/summary.json: `summary` as given, with the
  // provenance and the time the measures took filled in.
  void finish(RunSummary summary);

  const RunDirectory& directory() const { return run_; }
  const std::vector<long>& steps() const { return steps_; }
  const std::string& note() const { return recorder_.note(); }  // "conv1 |cos| 0.93 lines 2"
  double analysis_seconds() const { return recorder_.seconds(); }

 private:
  RunConfig config_;
  RunDirectory run_;
  CondensationRecorder recorder_;
  std::vector<long> steps_;
};

}  // namespace condense
