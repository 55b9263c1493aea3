#pragma once
// How every condense command ends (docs/exit-codes.md):
//   0    success
//   1    internal error: a bug in condense (please report it with the command that caused it)
//   2    bad input: a config, command line, data, weights or run directory condense cannot use,
//        or a file it cannot read or write (the message names it)
//   3    training diverged (NaN/Inf), or a run of a series failed
//   130  interrupted (SIGINT/SIGTERM); a training run saved its checkpoint
#include <cstdio>
#include <exception>

namespace condense {

// Prints what `error` says to `out` ("condense: error: ..." or "condense: internal error: ...")
// and returns the exit code the table above gives it. Never throws.
int exit_code_for(std::exception_ptr error, std::FILE* out);

}  // namespace condense
