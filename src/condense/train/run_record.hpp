#pragma once
// What a training run has written and keeps writing into its run directory: the metrics rows,
// the snapshots and their index, the checkpoint, and the training time across resumes.
#include <chrono>
#include <vector>

#include "condense/nn/parameters.hpp"
#include "condense/rundir/layout.hpp"
#include "condense/rundir/metrics.hpp"
#include "condense/train/optimizer.hpp"

namespace condense {

template <class T>
class RunRecord {
 public:
  RunRecord(const RunDirectory& run, ParameterStore<T>& parameters, Optimizer<T>& optimizer)
      : run_(run), parameters_(parameters), optimizer_(optimizer) {}

  // Loads the checkpoint into the parameters and the optimizer, and keeps the rows and snapshots
  // before its step; returns that step.
  long resume();

  // Training time starts now (on top of the resumed run's).
  void start_clock() { started_ = last_save_ = Clock::now(); }
  double elapsed() const {
    return elapsed_before_ + std::chrono::duration<double>(Clock::now() - started_).count();
  }

  const std::vector<MetricsRow>& rows() const { return rows_; }
  void add_row(const MetricsRow& row) { rows_.push_back(row); }

  // RUN/snapshots/step_<step>/<parameter>.npy, flushed with the next checkpoint.
  void write_snapshot(long step);

  // A checkpoint at the first snapshot, then at most every kCheckpointInterval: the log schedule
  // snapshots every early step, and a checkpoint (with its fsyncs) per snapshot cost more than
  // the snapshots. A signal saves at once; a killed run resumes from the last checkpoint and
  // redoes the snapshots after it, with the same bits.
  static constexpr std::chrono::seconds kCheckpointInterval{30};
  bool checkpoint_due(bool first_snapshot) const {
    return first_snapshot || Clock::now() - last_save_ >= kCheckpointInterval;
  }

  // metrics.csv and the snapshot index.
  void write_tables();
  // The tables, and the checkpoint of the weights after `step` steps.
  void save(long step);

 private:
  using Clock = std::chrono::steady_clock;
  const RunDirectory& run_;
  ParameterStore<T>& parameters_;
  Optimizer<T>& optimizer_;
  std::vector<MetricsRow> rows_;
  std::vector<long> snapshots_;
  double elapsed_before_ = 0;
  Clock::time_point started_ = Clock::now(), last_save_ = Clock::now();
};

}  // namespace condense
