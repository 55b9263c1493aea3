#include "condense/pipeline/condensation_tracking.hpp"

#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <filesystem>

#include "condense/analysis/weight_tensors.hpp"
#include "condense/core/atomic_file.hpp"
#include "condense/core/error.hpp"
#include "condense/core/npy.hpp"
#include "condense/rundir/cosines.hpp"
#include "condense/rundir/prediction_record.hpp"
#include "condense/train/checkpoint.hpp"

namespace condense {

namespace fs = std::filesystem;

namespace {

// Why a layer's values cannot be measured, or "": cosines and clusters of NaN or infinite values
// mean nothing.
std::string unmeasurable(const LayerWeights& layer) {
  std::size_t bad = 0;
  for (const auto* values : {&layer.weight, &layer.bias})
    for (double v : *values) bad += std::isfinite(v) ? 0 : 1;
  if (bad == 0) return {};
  return fmt::format("{} of its {} values are NaN or infinite", bad,
                     layer.weight.size() + layer.bias.size());
}

}  // namespace

MeasureOptions measure_options(const TrackConfig& track) {
  MeasureOptions options;
  options.threshold = track.threshold;
  options.negligible = track.negligible;
  options.with_bias = track.with_bias;
  return options;
}

CondensationRecorder::CondensationRecorder(RunDirectory run, const MeasureOptions& options,
                                           bool quiet, bool save_cosines)
    : run_(std::move(run)), analysis_(options), quiet_(quiet), save_cosines_(save_cosines) {}

void CondensationRecorder::load_direction() {
  // The theory's prediction, when it has been made for this run (docs/science.md §2): v1.npy holds
  // v₁'s weight part, prediction.json its bias component (direction.v1_bias, null without bias).
  const fs::path v1 = run_.v1();
  if (!fs::exists(v1)) return;
  PredictedDirection direction;
  direction.weight = read_npy(v1).values;
  if (fs::exists(run_.prediction()))
    direction.bias = read_prediction_record(run_.prediction()).v1_bias;
  analysis_.set_direction(std::move(direction));
}

void CondensationRecorder::read_initial(long first) {
  fs::path initial = run_.snapshot(0);
  if (!fs::exists(initial)) initial = run_.snapshot(first);
  if (fs::exists(initial))
    analysis_.set_initial(group_layers(read_npy_weights(initial, false).tensors, false, nullptr));
  else if (!quiet_)
    fmt::print(stderr, "condense: warning: {} is missing; rd stays empty\n",
               run_.snapshot(0).string());
}

void CondensationRecorder::resume_from(long start) {
  if (fs::exists(run_.analysis())) analysis_.set_rows(read_analysis_csv(run_.analysis()));
  analysis_.keep_rows_before(start);
  read_initial();
}

CondensationRecorder::~CondensationRecorder() {
  if (writes_.valid()) writes_.wait();  // an error here was not asked for with finish()
}

void CondensationRecorder::finish() {
  const auto started = std::chrono::steady_clock::now();
  if (writes_.valid()) writes_.get();
  seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
}

void CondensationRecorder::record(long step, const std::vector<LayerWeights>& layers) {
  finish();
  const auto started = std::chrono::steady_clock::now();
  if (snapshots_ == 0) load_direction();  // written by the theory before training, if at all
  unmeasured_.clear();
  std::vector<LayerWeights> measurable;
  for (const LayerWeights& layer : layers) {
    if (const std::string why = unmeasurable(layer); !why.empty()) {
      unmeasured_.push_back(fmt::format("{}: {}", layer.layer, why));
      if (!quiet_)
        fmt::print(stderr, "condense: warning: step {}: {}; the layer is not measured\n", step,
                   unmeasured_.back());
      continue;
    }
    measurable.push_back(layer);
  }
  std::vector<LayerMeasures> measures =
      analysis_.measure(step, unmeasured_.empty() ? layers : measurable);
  note_ = progress_summary(measures);
  if (!analysis_.direction_note().empty() && !warned_ && !quiet_) {
    fmt::print(stderr, "condense: warning: {} not used for alignment: {}\n", run_.v1().string(),
               analysis_.direction_note());
    warned_ = true;
  }
  writes_ = std::async(std::launch::async, [cosines = run_.cosines(step), table = run_.analysis(),
                                            measures = std::move(measures), csv = analysis_.csv(),
                                            save = save_cosines_] {
    if (save) write_cosines(cosines, measures, Flush::deferred);
    write_file_atomic(table, csv, Flush::deferred);
  });
  seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  ++snapshots_;
}

template <class T>
std::shared_ptr<CondensationRecorder> track_condensation(TrainerSetup<T>& setup) {
  auto recorder = std::make_shared<CondensationRecorder>(setup.run, measure_options(setup.track),
                                                         setup.quiet, setup.track.save_cosines);
  if (setup.resume) {
    // The step the trainer continues from; rows from it on are measured again.
    recorder->resume_from(read_checkpoint_step(setup.run.checkpoint()));
  }
  setup.on_snapshot = [recorder](long step, const ParameterStore<T>& parameters) {
    recorder->record(step, layer_weights(parameters));
  };
  setup.progress_note = [recorder] { return recorder->note(); };
  return recorder;
}

template std::shared_ptr<CondensationRecorder> track_condensation<float>(TrainerSetup<float>&);
template std::shared_ptr<CondensationRecorder> track_condensation<double>(TrainerSetup<double>&);

}  // namespace condense
