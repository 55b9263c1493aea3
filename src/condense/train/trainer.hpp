#pragma once
// The training loop: steps, mini-batches, metrics rows, snapshots at the tracked steps,
// checkpoints (at snapshot steps and on SIGINT/SIGTERM), progress on the terminal, and resume.
#include <cstdint>
#include <functional>
#include <string>
#include <set>
#include <vector>

#include "condense/nn/model.hpp"
#include "condense/rundir/layout.hpp"
#include "condense/rundir/metrics.hpp"
#include "condense/rundir/summary.hpp"
#include "condense/train/batches.hpp"
#include "condense/train/loss.hpp"
#include "condense/train/optimizer.hpp"

namespace condense {

struct TrainConfig {
  LossKind loss = LossKind::mse;
  OptimizerSpec optimizer;
  int batch_size = 0;  // 0 = full batch
  long steps = 1000;
  long epochs = 0;  // > 0: steps = epochs × batches per epoch
  long eval_every = 10;
};

struct TrackConfig {
  std::string snapshots = "log";  // "log" | "every:K" | "none"
  int per_decade = 20;            // density of the "log" schedule
  std::vector<long> extra_steps;
  double threshold = 0.95;   // cosine threshold of the orientation and line clusters
  double negligible = 0.01;  // kernels below this fraction of the layer's largest norm
  bool with_bias = false;    // append the bias to each kernel/neuron vector in the analysis
  // Evaluate at every snapshot step (the test split, and in mini-batch training the whole
  // training split) rather than only every eval_every steps.
  bool evaluate_at_snapshots = false;
  // Write each snapshot's cosine matrices (RUN/cosines/); false keeps only analysis.csv.
  bool save_cosines = true;
};

// Steps at which weights are saved: always 0 and `total`; "log": every step at first, then about
// `per_decade` per decade (round(10^(j/per_decade))); "every:K": multiples of K; and
// track.extra_steps. "every:K" is kept as a rule rather than a list, so that a schedule of 10^10
// steps is counted and refused (the run's estimate) instead of built.
class SnapshotSchedule {
 public:
  SnapshotSchedule(const TrackConfig& track, long total);
  bool contains(long step) const;
  long count() const { return count_after(-1); }
  long count_after(long step) const;  // the snapshot steps > step
  // Every step in order; only for schedules whose count() is known to be modest.
  std::vector<long> steps() const;

 private:
  long total_ = 0;
  long every_ = 0;         // "every:K": K; else 0
  std::set<long> listed_;  // 0, total, the "log" steps and the extra steps
};

inline std::vector<long> snapshot_steps(const TrackConfig& track, long total) {
  return SnapshotSchedule(track, total).steps();
}

// Total optimizer steps of a run: `steps`, or epochs × batches per epoch.
long total_steps(const TrainConfig& train, int train_size);

struct TrainOutcome {
  RunStatus status = RunStatus::completed;
  long steps_done = 0;
  double wall_seconds = 0;
  MetricsRow last;
  std::string message;
};

template <class T>
struct TrainerSetup {
  Model<T>* model = nullptr;
  TrainConfig train;
  TrackConfig track;
  SplitView<T> train_split, test_split;
  bool has_classes = false;
  std::uint64_t seed = 0;
  RunDirectory run;
  bool resume = false;  // continue from RUN/checkpoint/state.bin
  bool quiet = false;
  // Called at every snapshot step with the weights of that step (analysis hooks in here).
  std::function<void(long step, const ParameterStore<T>&)> on_snapshot;
  // Extra text for the progress line (e.g. the latest condensation measures).
  std::function<std::string()> progress_note;
};

template <class T>
TrainOutcome run_training(TrainerSetup<T>& setup);

}  // namespace condense
