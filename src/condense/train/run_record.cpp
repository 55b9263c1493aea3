#include "condense/train/run_record.hpp"

#include "condense/core/atomic_file.hpp"
#include "condense/core/npy.hpp"
#include "condense/rundir/snapshot_index.hpp"
#include "condense/train/checkpoint.hpp"

namespace condense {

template <class T>
long RunRecord<T>::resume() {
  const CheckpointState state = load_checkpoint(run_.checkpoint(), parameters_, optimizer_);
  elapsed_before_ = state.elapsed_seconds;
  if (std::filesystem::exists(run_.metrics()))
    for (const auto& r : read_metrics(run_.metrics()))
      if (r.step < state.step) rows_.push_back(r);
  if (std::filesystem::exists(run_.snapshot_index()))
    for (const auto& entry : read_snapshot_index(run_.snapshots()))
      if (entry.step < state.step) snapshots_.push_back(entry.step);
  return state.step;
}

template <class T>
void RunRecord<T>::write_snapshot(long step) {
  const auto dir = run_.snapshot(step);
  make_directories(dir);
  for (const auto& info : parameters_.info())
    write_npy(dir / (info.name + ".npy"), parameters_.values().data() + info.offset, info.shape,
              Flush::deferred);
  if (snapshots_.empty() || snapshots_.back() != step) snapshots_.push_back(step);
}

template <class T>
void RunRecord<T>::write_tables() {
  write_file_atomic(run_.metrics(), metrics_csv(rows_));
  write_file_atomic(run_.snapshot_index(), snapshot_index_csv(snapshots_));
}

template <class T>
void RunRecord<T>::save(long step) {
  write_tables();
  save_checkpoint(run_.checkpoint(), parameters_, optimizer_, step, elapsed());
  last_save_ = Clock::now();
}

template class RunRecord<float>;
template class RunRecord<double>;

}  // namespace condense
