#pragma once
// RUN/snapshots/index.csv: the snapshot steps of a run, in order (docs/run-directory.md).
//
//   step,path
//   0,step_0
//
// `path` is the folder of the step's weights inside RUN/snapshots; condense writes step_<step>.
// Readers accept nothing else: a path that could leave the snapshots folder is damage.
#include <filesystem>
#include <string>
#include <vector>

#include "condense/core/csv.hpp"

namespace condense {

struct SnapshotEntry {
  long step = 0;
  std::filesystem::path folder;  // RUN/snapshots/step_<step>
};

std::string snapshot_index_csv(const std::vector<long>& steps);

// Reads index.csv in `snapshots` (RUN/snapshots). Steps must be integers ≥ 0 in increasing order
// and each path `step_<step>`; anything else is an InputError naming the file and line, or with
// CsvDamage::stop the end of the entries returned, described in *damage.
std::vector<SnapshotEntry> read_snapshot_index(const std::filesystem::path& snapshots,
                                               CsvDamage on_damage = CsvDamage::fail,
                                               std::string* damage = nullptr);

}  // namespace condense
