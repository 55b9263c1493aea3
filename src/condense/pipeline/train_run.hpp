#pragma once
// One run, from its resolved config to its report (docs/architecture.md): the data, the model,
// training with the condensation measures at every snapshot, the theory's prediction, summary.json
// and the figures. `condense train`, the runs of an experiment, the workers of a sweep and the
// Python package all go through train_run, so they all write the same run directory.
#include <filesystem>
#include <string>

#include "condense/config/config.hpp"
#include "condense/core/exit_codes.hpp"
#include "condense/rundir/layout.hpp"
#include "condense/rundir/summary.hpp"

namespace condense {

struct TrainRequest {
  std::filesystem::path root;  // the run directory
  bool resume = false;         // continue `root` from its checkpoint
  bool overwrite = false;      // replace an existing run directory (one condense made)
  bool quiet = false;          // no progress output
  bool report = true;          // figures and report.html at the end
  bool dry_run = false;        // print the model and the estimates on stdout; write nothing
  bool memory_check = true;    // refuse a run whose memory estimate exceeds what is available
  bool disk_check = true;      // refuse a run whose files would not fit the free disk
};

// Trains `config` into request.root and returns how the run ended. Throws InputError or IoError
// for bad input, before anything is written where it can be found then: settings a resume may not
// change (pipeline/resume_policy.hpp), a batch larger than the data, a run that does not fit the
// available memory (pipeline/run_estimate.hpp), a directory that is not condense's to replace.
RunStatus train_run(const RunConfig& config, const TrainRequest& request);

// Checks that `root` can take a new run: it does not exist, is an empty directory, or, with
// `overwrite`, is a run directory condense made (its marker). Otherwise an InputError that names
// `option` (what allows overwriting: "--overwrite") and, for an existing run, says `exists_advice`.
void check_new_run_directory(const std::filesystem::path& root, bool overwrite,
                             const std::string& option, const std::string& exists_advice);
// Makes the run directory that check_new_run_directory allowed (replacing what is there) and writes
// its .condense-run marker and snapshots/ folder.
RunDirectory make_new_run_directory(const std::filesystem::path& root);

// The build and the machine, now: summary.json's provenance fields.
RunProvenance run_provenance();

// The exit code of a run that ended with `status` (core/exit_codes.hpp): 0, kExitInterrupted or
// kExitDiverged.
int exit_code_of(RunStatus status);

}  // namespace condense
