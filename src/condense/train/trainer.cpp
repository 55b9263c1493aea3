#include "condense/train/trainer.hpp"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstring>
#include <fstream>
#include <numeric>
#include <set>
#include <sstream>

#include "condense/core/atomic_file.hpp"
#include "condense/core/error.hpp"
#include "condense/core/npy.hpp"
#include "condense/core/rng.hpp"
#include "condense/rundir/snapshot_index.hpp"
#include "condense/train/checkpoint.hpp"
#include "condense/train/step.hpp"

namespace condense {

namespace {

std::atomic<int> g_stop_signal{0};

// Least wall time between two checkpoints written at snapshot steps.
constexpr std::chrono::seconds kCheckpointInterval{30};

extern "C" void request_stop(int signal) { g_stop_signal.store(signal); }

// Installs SIGINT/SIGTERM handlers for the lifetime of a training run.
class StopSignals {
 public:
  StopSignals() {
    g_stop_signal.store(0);
    struct sigaction action {};
    action.sa_handler = request_stop;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, &old_int_);
    sigaction(SIGTERM, &action, &old_term_);
  }
  ~StopSignals() {
    sigaction(SIGINT, &old_int_, nullptr);
    sigaction(SIGTERM, &old_term_, nullptr);
  }
  int requested() const { return g_stop_signal.load(); }

 private:
  struct sigaction old_int_ {}, old_term_ {};
};

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const long s = long(seconds + 0.5);
  if (s >= 3600) return fmt::format("{}h{:02}m", s / 3600, (s / 60) % 60);
  if (s >= 60) return fmt::format("{}m{:02}s", s / 60, s % 60);
  return fmt::format("{}s", s);
}

}  // namespace

std::vector<long> snapshot_steps(const TrackConfig& track, long total) {
  std::set<long> steps{0, total};
  if (track.snapshots == "log") {
    for (int j = 0;; ++j) {
      const long s = std::lround(std::pow(10.0, double(j) / track.per_decade));
      if (s > total) break;
      steps.insert(s);
    }
  } else if (track.snapshots.rfind("every:", 0) == 0) {
    const long every = std::stol(track.snapshots.substr(6));
    for (long s = every; s < total; s += every) steps.insert(s);
  }
  for (long s : track.extra_steps)
    if (s <= total) steps.insert(s);
  return {steps.begin(), steps.end()};
}

long total_steps(const TrainConfig& train, int train_size) {
  if (train.epochs <= 0) return train.steps;
  const long batches =
      train.batch_size <= 0 ? 1 : (train_size + train.batch_size - 1) / train.batch_size;
  return train.epochs * batches;
}

template <class T>
TrainOutcome run_training(TrainerSetup<T>& setup) {
  using Clock = std::chrono::steady_clock;
  Model<T>& model = *setup.model;
  const TrainConfig& config = setup.train;
  const SplitView<T>& train = setup.train_split;
  const int N = train.size, K = model.outputs();
  const std::int64_t sample = model.input_shape().size();
  const bool full_batch = config.batch_size <= 0 || config.batch_size >= N;
  const int batch_size = full_batch ? N : config.batch_size;
  const long batches_per_epoch = full_batch ? 1 : (N + batch_size - 1) / batch_size;
  const long total = total_steps(config, N);
  const std::vector<long> snapshots = snapshot_steps(setup.track, total);
  const std::set<long> snapshot_set(snapshots.begin(), snapshots.end());

  OptimizerSpec optimizer_spec = config.optimizer;
  if (optimizer_spec.schedule.kind == ScheduleKind::cosine) optimizer_spec.schedule.total_steps = std::max(1L, total);
  Optimizer<T> optimizer(optimizer_spec, model.parameters().size());
  std::vector<MetricsRow> rows;
  std::vector<long> saved_snapshots;
  long start = 0;
  double elapsed_before = 0;
  if (setup.resume) {
    const CheckpointState state = load_checkpoint(setup.run.checkpoint(), model.parameters(),
                                                  optimizer);
    start = state.step;
    elapsed_before = state.elapsed_seconds;
    if (std::filesystem::exists(setup.run.metrics()))
      for (const auto& r : read_metrics(setup.run.metrics()))
        if (r.step < start) rows.push_back(r);
    if (std::filesystem::exists(setup.run.snapshot_index()))
      for (const auto& entry : read_snapshot_index(setup.run.snapshots()))
        if (entry.step < start) saved_snapshots.push_back(entry.step);
  }
  model.reserve(batch_size);

  // Mini-batch buffers, filled by gathering rows of a seeded per-epoch permutation.
  std::vector<T> batch_inputs, batch_values;
  std::vector<int> batch_labels, order;
  if (!full_batch) {
    batch_inputs.resize(std::size_t(batch_size) * sample);
    if (train.targets.values) batch_values.resize(std::size_t(batch_size) * K);
    if (train.targets.labels) batch_labels.resize(std::size_t(batch_size));
    order.resize(std::size_t(N));
  }
  long order_epoch = -1;
  auto make_batch = [&](long step) {
    Batch<T> batch;
    if (full_batch) {
      batch.inputs = train.inputs;
      batch.targets = train.targets;
      batch.size = N;
      return batch;
    }
    const long epoch = step / batches_per_epoch, index = step % batches_per_epoch;
    if (epoch != order_epoch) {
      // The permutation depends only on (seed, epoch): a resumed run draws the same batches.
      std::iota(order.begin(), order.end(), 0);
      Rng rng = Rng::stream(setup.seed ^ 0x6d696e6962617463ULL, std::uint64_t(epoch));
      for (int i = N - 1; i > 0; --i) std::swap(order[i], order[rng.below(std::uint64_t(i) + 1)]);
      order_epoch = epoch;
    }
    const int begin = int(index) * batch_size, size = std::min(batch_size, N - begin);
    for (int b = 0; b < size; ++b) {
      const int src = order[std::size_t(begin + b)];
      std::copy_n(train.inputs + std::int64_t(src) * sample, sample,
                  batch_inputs.data() + std::int64_t(b) * sample);
      if (train.targets.values)
        std::copy_n(train.targets.values + std::int64_t(src) * K, K,
                    batch_values.data() + std::int64_t(b) * K);
      if (train.targets.labels) batch_labels[std::size_t(b)] = train.targets.labels[src];
    }
    batch.inputs = batch_inputs.data();
    batch.targets.values = train.targets.values ? batch_values.data() : nullptr;
    batch.targets.labels = train.targets.labels ? batch_labels.data() : nullptr;
    batch.size = size;
    return batch;
  };

  // Loss and accuracy of a whole split, in chunks no larger than the training batch.
  auto evaluate = [&](const SplitView<T>& split, double& loss, double& accuracy) {
    double total_loss = 0;
    long correct = 0;
    for (int begin = 0; begin < split.size; begin += batch_size) {
      const int size = std::min(batch_size, split.size - begin);
      const T* f = model.predict(split.inputs + std::int64_t(begin) * sample, size);
      Targets<T> targets;
      if (split.targets.values) targets.values = split.targets.values + std::int64_t(begin) * K;
      if (split.targets.labels) targets.labels = split.targets.labels + begin;
      total_loss += loss_value(config.loss, f, targets, size, K) * size;
      correct += count_correct(f, targets, size, K);
    }
    loss = total_loss / split.size;
    accuracy = setup.has_classes ? double(correct) / split.size : MetricsRow::kNotMeasured;
  };

  const auto started = Clock::now();
  auto elapsed = [&] {
    return elapsed_before + std::chrono::duration<double>(Clock::now() - started).count();
  };
  auto last_save = Clock::now();
  auto save_progress = [&](long step) {
    write_file_atomic(setup.run.metrics(), metrics_csv(rows));
    write_file_atomic(setup.run.snapshot_index(), snapshot_index_csv(saved_snapshots));
    save_checkpoint(setup.run.checkpoint(), model.parameters(), optimizer, step, elapsed());
    last_save = Clock::now();
  };

  const bool terminal = ::isatty(STDERR_FILENO) && !setup.quiet;
  auto last_print = Clock::now() - std::chrono::hours(1);
  const long first_step = start;
  // Between evaluations of a mini-batch run the row has no training loss: the line shows the mean
  // loss of this epoch's batches so far instead (`batch_mean`, NaN elsewhere), labelled as such.
  auto progress = [&](long step, const MetricsRow& row, double batch_mean, bool final) {
    if (setup.quiet) return;
    const auto now = Clock::now();
    const double since = std::chrono::duration<double>(now - last_print).count();
    if (!final && since < (terminal ? 0.25 : 5.0)) return;
    last_print = now;
    const double run_time = std::chrono::duration<double>(now - started).count();
    const double rate = run_time > 0 ? double(step - first_step) / run_time : 0;
    std::string line =
        std::isnan(batch_mean)
            ? fmt::format("step {}/{}  loss {:.6g}", step, total, row.train_loss)
            : fmt::format("step {}/{}  batch loss {:.6g} (epoch mean)", step, total, batch_mean);
    if (row.train_acc >= 0) line += fmt::format("  acc {:.3f}", row.train_acc);
    if (row.test_loss >= 0) line += fmt::format("  test {:.4g}", row.test_loss);
    if (row.test_acc >= 0) line += fmt::format("/{:.3f}", row.test_acc);
    line += fmt::format("  {:.1f} steps/s  ETA {}", rate,
                        rate > 0 ? format_duration(double(total - step) / rate) : "?");
    if (setup.progress_note) line += "  " + setup.progress_note();
    if (terminal) fmt::print(stderr, "\r\033[K{}{}", line, final ? "\n" : "");
    else fmt::print(stderr, "{}\n", line);
  };

  StopSignals signals;
  TrainOutcome outcome;
  bool same_input = false;
  MetricsRow row;
  long step = start;
  double epoch_loss_sum = 0;  // mini-batch: the batch losses of this epoch, weighted by size
  long epoch_samples = 0;
  try {
    for (;; ++step) {
      if (snapshot_set.count(step)) {
        const auto dir = setup.run.snapshot(step);
        make_directories(dir);
        for (const auto& info : model.parameters().info())
          write_npy(dir / (info.name + ".npy"), model.parameters().values().data() + info.offset,
                    info.shape, Flush::deferred);
        if (saved_snapshots.empty() || saved_snapshots.back() != step)
          saved_snapshots.push_back(step);
        if (setup.on_snapshot) setup.on_snapshot(step, model.parameters());
        // A checkpoint at the first snapshot, then at most every kCheckpointInterval: the log
        // schedule snapshots every early step, and a checkpoint (with its fsyncs) per snapshot
        // cost more than the snapshots. A signal saves at once; a killed run resumes from the
        // last checkpoint and redoes the snapshots after it, with the same bits.
        if (step < total && (step == start || Clock::now() - last_save >= kCheckpointInterval))
          save_progress(step);
      }
      if (const int signal = signals.requested()) {
        save_progress(step);
        outcome.status = RunStatus::interrupted;
        outcome.message = fmt::format("stopped by {} at step {}; the checkpoint is saved",
                                      signal == SIGINT ? "SIGINT" : "SIGTERM", step);
        break;
      }
      // Evaluation steps get a full row. A snapshot step between them gets a row only where the
      // training loss comes free, from a full-batch step's own forward pass, unless
      // track.evaluate_at_snapshots asks for more: evaluating there is what tracking would cost.
      const bool snapshot = snapshot_set.count(step) > 0;
      const bool evaluation_step = step % config.eval_every == 0 || step == total ||
                                   (snapshot && setup.track.evaluate_at_snapshots);
      const bool log_row = evaluation_step || (snapshot && full_batch);
      row = MetricsRow{};
      row.step = step;
      row.epoch = double(step) / double(batches_per_epoch);
      row.lr = learning_rate(optimizer_spec, step);
      const bool train_evaluated = step == total || (evaluation_step && !full_batch);
      if (train_evaluated) {
        evaluate(train, row.train_loss, row.train_acc);
        same_input = false;
        if (!std::isfinite(row.train_loss))
          throw DivergenceError(step, fmt::format("training diverged at step {}: the loss is {}",
                                                  step, row.train_loss));
      }
      // The test split is evaluated before the step, so that every number of a row belongs to
      // the weights after `step` steps, the weights of snapshot step_<step>.
      if (evaluation_step && setup.test_split.size > 0) {
        evaluate(setup.test_split, row.test_loss, row.test_acc);
        same_input = false;
      }
      if (step < total) {
        Batch<T> batch = make_batch(step);
        batch.same_as_previous = full_batch && same_input;
        const StepResult result = train_step(model, optimizer, config.loss, batch);
        same_input = full_batch;
        if (full_batch) {
          row.train_loss = result.loss;
          row.train_acc = setup.has_classes ? double(result.correct) / N : MetricsRow::kNotMeasured;
        } else {
          if (step % batches_per_epoch == 0 || step == start) epoch_loss_sum = 0, epoch_samples = 0;
          epoch_loss_sum += result.loss * batch.size;
          epoch_samples += batch.size;
        }
      }
      if (log_row) {
        row.time_s = elapsed();
        rows.push_back(row);
      }
      const bool has_train_loss = full_batch || train_evaluated || epoch_samples == 0;
      progress(step, row, has_train_loss ? NAN : epoch_loss_sum / double(epoch_samples),
               step == total);
      if (step == total) break;
    }
  } catch (const DivergenceError& e) {
    row.time_s = elapsed();
    write_file_atomic(setup.run.metrics(), metrics_csv(rows));
    write_file_atomic(setup.run.snapshot_index(), snapshot_index_csv(saved_snapshots));
    outcome.status = RunStatus::diverged;
    outcome.message = e.what();
    outcome.steps_done = e.step();
    outcome.wall_seconds = elapsed();
    outcome.last = rows.empty() ? row : rows.back();
    if (terminal) fmt::print(stderr, "\n");
    return outcome;
  }
  if (outcome.status == RunStatus::completed) {
    write_file_atomic(setup.run.metrics(), metrics_csv(rows));
    write_file_atomic(setup.run.snapshot_index(), snapshot_index_csv(saved_snapshots));
    save_checkpoint(setup.run.checkpoint(), model.parameters(), optimizer, total, elapsed());
  } else if (terminal) {
    fmt::print(stderr, "\n");
  }
  outcome.steps_done = step;
  outcome.wall_seconds = elapsed();
  outcome.last = rows.empty() ? row : rows.back();
  return outcome;
}

template TrainOutcome run_training<float>(TrainerSetup<float>&);
template TrainOutcome run_training<double>(TrainerSetup<double>&);

}  // namespace condense
