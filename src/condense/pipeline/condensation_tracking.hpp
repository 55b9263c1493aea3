#pragma once
// Condensation measures of a run directory: at each snapshot of `condense train` (the trainer's
// on_snapshot hook) and for every saved snapshot in `condense analyze RUN`. Both go through
// CondensationRecorder, so both write the same RUN/analysis.csv and RUN/cosines/.
//
// The measures are computed at the snapshot; the files are written on a background thread while
// training goes on, because each atomic write waits for the disk (fsync, ~5 ms here) and a small
// network trains hundreds of steps in that time. A snapshot waits for the previous snapshot's
// files, so when the trainer checkpoints step k every row before k is on disk: a run killed and
// resumed from k loses nothing (step k itself is measured again).
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "condense/pipeline/run_analysis.hpp"
#include "condense/rundir/layout.hpp"
#include "condense/train/trainer.hpp"

namespace condense {

MeasureOptions measure_options(const TrackConfig& track);

class CondensationRecorder {
 public:
  // The first record() takes RUN/v1.npy (and the bias component in RUN/prediction.json) as the
  // predicted direction when it exists.
  CondensationRecorder(RunDirectory run, const MeasureOptions& options, bool quiet,
                       bool save_cosines = true);

  // Reads the initial weights, for RD, from RUN/snapshots/step_0, or without that folder from
  // RUN/snapshots/step_<first>: the first snapshot of a series of checkpoints that has no step 0.
  void read_initial(long first = 0);
  // A resumed run: keeps the rows of RUN/analysis.csv before `start` and reads the step-0 weights.
  void resume_from(long start);

  CondensationRecorder(const CondensationRecorder&) = delete;
  CondensationRecorder& operator=(const CondensationRecorder&) = delete;
  ~CondensationRecorder();

  // Measures every layer at `step` and starts writing RUN/cosines/step_<step>/ (unless
  // save_cosines is false) and RUN/analysis.csv. Throws the IoError of the previous snapshot's
  // writes, if any. A layer holding NaN or infinite values (weights trained elsewhere; condense's
  // training stops before an update makes them so) is not measured: unmeasured() names it.
  void record(long step, const std::vector<LayerWeights>& layers);
  // "<layer>: <why>" of the layers the last record() left out.
  const std::vector<std::string>& unmeasured() const { return unmeasured_; }
  // Waits for the last writes; throws their IoError. Call once the last snapshot is recorded.
  void finish();

  const RunAnalysis& analysis() const { return analysis_; }
  const std::string& note() const { return note_; }  // for the progress line
  // Time the caller spent in record() and finish(): measuring, and waiting for writes.
  double seconds() const { return seconds_; }
  long snapshots() const { return snapshots_; }

 private:
  void load_direction();

  RunDirectory run_;
  RunAnalysis analysis_;
  bool quiet_;
  bool save_cosines_;
  bool warned_ = false;
  std::string note_;
  std::vector<std::string> unmeasured_;
  double seconds_ = 0;
  long snapshots_ = 0;
  std::future<void> writes_;
};

// Sets setup.on_snapshot and setup.progress_note to record the condensation measures of every
// snapshot. Call finish() on the returned recorder after training; seconds() is its cost.
template <class T>
std::shared_ptr<CondensationRecorder> track_condensation(TrainerSetup<T>& setup);

}  // namespace condense
