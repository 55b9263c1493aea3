#include "condense/train/trainer.hpp"

#include <algorithm>
#include <cmath>
#include <csignal>
#include <set>

#include "condense/core/error.hpp"
#include "condense/core/stop_signals.hpp"
#include "condense/train/batches.hpp"
#include "condense/train/progress_line.hpp"
#include "condense/train/run_record.hpp"
#include "condense/train/step.hpp"

namespace condense {

SnapshotSchedule::SnapshotSchedule(const TrackConfig& track, long total) : total_(total) {
  listed_ = {0, total};
  if (track.snapshots == "log") {
    for (int j = 0;; ++j) {
      const long s = std::lround(std::pow(10.0, double(j) / track.per_decade));
      if (s > total) break;
      listed_.insert(s);
    }
  } else if (track.snapshots.rfind("every:", 0) == 0) {
    every_ = std::stol(track.snapshots.substr(6));  // validated by the config: K ≥ 1
  }
  for (long s : track.extra_steps)
    if (s <= total) listed_.insert(s);
}

bool SnapshotSchedule::contains(long step) const {
  return (every_ > 0 && step > 0 && step < total_ && step % every_ == 0) || listed_.count(step) > 0;
}

long SnapshotSchedule::count_after(long step) const {
  const auto multiple = [&](long s) { return every_ > 0 && s > 0 && s < total_ && s % every_ == 0; };
  long count = 0;
  // The multiples of K in (max(step, 0), total), counted, not listed.
  const long from = std::max(step, 0L);
  if (every_ > 0 && from < total_) count = (total_ - 1) / every_ - from / every_;
  for (auto s = listed_.upper_bound(step); s != listed_.end(); ++s)
    if (!multiple(*s)) ++count;
  return count;
}

std::vector<long> SnapshotSchedule::steps() const {
  std::set<long> steps = listed_;
  if (every_ > 0)
    for (long s = every_; s < total_; s += every_) steps.insert(s);
  return {steps.begin(), steps.end()};
}

long total_steps(const TrainConfig& train, int train_size) {
  if (train.epochs <= 0) return train.steps;
  const long batches =
      train.batch_size <= 0 ? 1 : (train_size + train.batch_size - 1) / train.batch_size;
  // The config bounds epochs by 2^53; their product with the batches must stay there too.
  constexpr long kMaxSteps = 1L << 53;
  if (train.epochs > kMaxSteps / batches)
    fail_input("train.epochs = {} with {} batches per epoch is more than 2^53 steps", train.epochs,
               batches);
  return train.epochs * batches;
}

namespace {

// Loss and accuracy of a whole split into `loss` and `accuracy`, in chunks of at most `chunk`
// samples (the training batch).
template <class T>
void evaluate(Model<T>& model, const SplitView<T>& split, int chunk, LossKind loss_kind,
              bool has_classes, double& loss, double& accuracy) {
  const int K = model.outputs();
  const std::int64_t sample = model.input_shape().size();
  double total_loss = 0;
  long correct = 0;
  for (int begin = 0; begin < split.size; begin += chunk) {
    const int size = std::min(chunk, split.size - begin);
    const T* f = model.predict(split.inputs + std::int64_t(begin) * sample, size);
    Targets<T> targets;
    if (split.targets.values) targets.values = split.targets.values + std::int64_t(begin) * K;
    if (split.targets.labels) targets.labels = split.targets.labels + begin;
    total_loss += loss_value(loss_kind, f, targets, size, K) * size;
    correct += count_correct(f, targets, size, K);
  }
  loss = total_loss / split.size;
  accuracy = has_classes ? double(correct) / split.size : MetricsRow::kNotMeasured;
}

// One run of the training loop over the steps of `setup`, from its start (0, or the checkpoint's
// step when resuming) to the total: at each step the snapshot, the evaluations its metrics row
// needs, then the optimizer step.
template <class T>
class TrainingLoop {
 public:
  explicit TrainingLoop(TrainerSetup<T>& setup)
      : setup_(setup),
        model_(*setup.model),
        config_(setup.train),
        N_(setup.train_split.size),
        full_batch_(config_.batch_size <= 0 || config_.batch_size >= N_),
        batch_size_(full_batch_ ? N_ : config_.batch_size),
        batches_per_epoch_(full_batch_ ? 1 : (N_ + batch_size_ - 1) / batch_size_),
        total_(total_steps(config_, N_)),
        optimizer_spec_(optimizer_spec(config_.optimizer, total_)),
        optimizer_(optimizer_spec_, model_.parameters().size()),
        record_(setup.run, model_.parameters(), optimizer_),
        start_(setup.resume ? record_.resume() : 0),
        batches_(setup.train_split, full_batch_, batch_size_, batches_per_epoch_,
                 model_.input_shape().size(), model_.outputs(), setup.seed),
        snapshots_(setup.track, total_) {}

  TrainOutcome run() {
    model_.reserve(batch_size_);
    record_.start_clock();
    ProgressLine progress(setup_.quiet, start_, total_, setup_.progress_note);
    StopSignals signals;
    TrainOutcome outcome;
    MetricsRow row;
    long step = start_;
    try {
      for (;; ++step) {
        const bool snapshot = snapshots_.contains(step);
        if (snapshot) snapshot_step(step);
        if (const int signal = signals.requested()) {
          record_.save(step);
          outcome.status = RunStatus::interrupted;
          outcome.message = fmt::format("stopped by {} at step {}; the checkpoint is saved",
                                        signal == SIGINT ? "SIGINT" : "SIGTERM", step);
          break;
        }
        // Evaluation steps get a full row. A snapshot step between them gets a row only where the
        // training loss comes free, from a full-batch step's own forward pass, unless
        // track.evaluate_at_snapshots asks for more: evaluating there is what tracking would cost.
        const bool evaluation_step = step % config_.eval_every == 0 || step == total_ ||
                                     (snapshot && setup_.track.evaluate_at_snapshots);
        const bool train_evaluated = step == total_ || (evaluation_step && !full_batch_);
        start_row(step, evaluation_step, train_evaluated, row);
        if (step < total_) optimizer_step(step, row);
        if (evaluation_step || (snapshot && full_batch_)) {
          row.time_s = record_.elapsed();
          record_.add_row(row);
        }
        const bool has_train_loss = full_batch_ || train_evaluated || epoch_samples_ == 0;
        progress.show(step, row, has_train_loss ? NAN : epoch_loss_sum_ / double(epoch_samples_),
                      step == total_);
        if (step == total_) break;
      }
    } catch (const DivergenceError& e) {
      row.time_s = record_.elapsed();
      record_.write_tables();
      outcome.status = RunStatus::diverged;
      outcome.message = e.what();
      step = e.step();
    }
    if (outcome.status == RunStatus::completed)
      record_.save(total_);
    else if (progress.terminal())
      fmt::print(stderr, "\n");
    outcome.steps_done = step;
    outcome.wall_seconds = record_.elapsed();
    outcome.last = record_.rows().empty() ? row : record_.rows().back();
    return outcome;
  }

 private:
  // The cosine schedule runs over the run's steps.
  static OptimizerSpec optimizer_spec(OptimizerSpec spec, long total) {
    if (spec.schedule.kind == ScheduleKind::cosine) spec.schedule.total_steps = std::max(1L, total);
    return spec;
  }

  // The weights of `step` into RUN/snapshots, the analysis hook, and a checkpoint when one is due.
  void snapshot_step(long step) {
    record_.write_snapshot(step);
    if (setup_.on_snapshot) setup_.on_snapshot(step, model_.parameters());
    if (step < total_ && record_.checkpoint_due(step == start_)) record_.save(step);
  }

  // The row of `step` with what is measured before the step is taken: the whole training split
  // where `train_evaluated` (a diverged loss throws, the row holding it), the test split at
  // evaluation steps.
  void start_row(long step, bool evaluation_step, bool train_evaluated, MetricsRow& row) {
    row = MetricsRow{};
    row.step = step;
    row.epoch = double(step) / double(batches_per_epoch_);
    row.lr = learning_rate(optimizer_spec_, step);
    if (train_evaluated) {
      evaluate(model_, setup_.train_split, batch_size_, config_.loss, setup_.has_classes,
               row.train_loss, row.train_acc);
      same_input_ = false;
      if (!std::isfinite(row.train_loss))
        throw DivergenceError(step, fmt::format("training diverged at step {}: the loss is {}",
                                                step, row.train_loss));
    }
    // The test split is evaluated before the step, so that every number of a row belongs to
    // the weights after `step` steps, the weights of snapshot step_<step>.
    if (evaluation_step && setup_.test_split.size > 0) {
      evaluate(model_, setup_.test_split, batch_size_, config_.loss, setup_.has_classes,
               row.test_loss, row.test_acc);
      same_input_ = false;
    }
  }

  // The optimizer step on the batch of `step`. A full-batch step's loss and accuracy, measured
  // on its way, go into the row; a mini-batch's loss into the epoch's running mean.
  void optimizer_step(long step, MetricsRow& row) {
    Batch<T> batch = batches_.at(step);
    batch.same_as_previous = full_batch_ && same_input_;
    const StepResult result = train_step(model_, optimizer_, config_.loss, batch);
    same_input_ = full_batch_;
    if (full_batch_) {
      row.train_loss = result.loss;
      row.train_acc = setup_.has_classes ? double(result.correct) / N_ : MetricsRow::kNotMeasured;
    } else {
      if (step % batches_per_epoch_ == 0 || step == start_) epoch_loss_sum_ = 0, epoch_samples_ = 0;
      epoch_loss_sum_ += result.loss * batch.size;
      epoch_samples_ += batch.size;
    }
  }

  TrainerSetup<T>& setup_;
  Model<T>& model_;
  const TrainConfig& config_;
  const int N_;
  const bool full_batch_;
  const int batch_size_;
  const long batches_per_epoch_;
  const long total_;
  const OptimizerSpec optimizer_spec_;
  Optimizer<T> optimizer_;
  RunRecord<T> record_;
  const long start_;
  BatchMaker<T> batches_;
  SnapshotSchedule snapshots_;
  bool same_input_ = false;    // the model's first layer holds the patches of the full batch
  double epoch_loss_sum_ = 0;  // mini-batch: the batch losses of this epoch, weighted by size
  long epoch_samples_ = 0;
};

}  // namespace

template <class T>
TrainOutcome run_training(TrainerSetup<T>& setup) {
  return TrainingLoop<T>(setup).run();
}

template TrainOutcome run_training<float>(TrainerSetup<float>&);
template TrainOutcome run_training<double>(TrainerSetup<double>&);

}  // namespace condense
