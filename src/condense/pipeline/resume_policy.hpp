#pragma once
// What `condense train --resume` may change (docs/run-directory.md, "Resuming"). A resumed run
// continues the same training: only settings that extend it or change what is recorded from here
// on may differ from the run's config.toml; anything that would change how the steps already taken
// were made (model, data, loss, optimizer, schedule, initialization, seed, dtype) is refused, as is
// a measure setting that would make analysis.csv mix two definitions.
#include <string>
#include <vector>

#include "condense/config/config.hpp"

namespace condense {

// The keys a resume may change, in the order the docs list them.
const std::vector<std::string>& resumable_keys();

// Throws InputError naming every key that differs between `saved` (RUN/config.toml) and `wanted`
// and may not change on resume, with both values, and what to do instead.
void check_resume_settings(const RunConfig& saved, const RunConfig& wanted,
                           const std::string& run);

// Throws InputError unless `wanted_total` extends a run whose checkpoint is at `checkpoint_step`
// (saved total `saved_total`): a complete run needs a larger train.steps, and a total at or below
// the checkpoint would train past its end.
void check_resume_steps(const RunConfig& wanted, long checkpoint_step, long saved_total,
                        long wanted_total, const std::string& run);

}  // namespace condense
