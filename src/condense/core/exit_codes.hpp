#pragma once
// How every condense process ends (docs/exit-codes.md), also between a sweep and its worker
// processes. The command line turns exceptions into these codes (cli/exit_codes.hpp).
namespace condense {

inline constexpr int kExitSuccess = 0;
inline constexpr int kExitInternal = 1;       // a bug in condense
inline constexpr int kExitBadInput = 2;       // bad input or I/O failure
inline constexpr int kExitDiverged = 3;       // training diverged, or a run of a series failed
inline constexpr int kExitInterrupted = 130;  // SIGINT or SIGTERM; checkpoints are saved

}  // namespace condense
