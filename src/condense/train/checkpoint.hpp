#pragma once
// Checkpoints: the weights, the optimizer's state and the step, in one file written atomically,
// so that a resumed run continues bit for bit where the interrupted one stopped.
// Format (little-endian): "CNDSCKPT", u32 version, u32 scalar size (4|8), i64 step,
// i64 optimizer steps, f64 elapsed seconds, u64 parameter count, then the parameters, then for
// each optimizer state vector a u64 length and its values; version 2 ends with the CRC-32 (zlib's)
// of every byte before it, so that a damaged checkpoint is refused, never loaded. Version 1 files
// (no checksum) are still read.
#include <filesystem>

#include "condense/nn/parameters.hpp"
#include "condense/train/optimizer.hpp"

namespace condense {

struct CheckpointState {
  long step = 0;
  double elapsed_seconds = 0;
};

template <class T>
void save_checkpoint(const std::filesystem::path& path, const ParameterStore<T>& parameters,
                     Optimizer<T>& optimizer, long step, double elapsed_seconds);

// Restores parameters and optimizer state. A missing, truncated, damaged (checksum, trailing
// bytes, negative step, non-finite values) or mismatched file (other dtype, other model size)
// throws InputError naming the path and what is wrong.
template <class T>
CheckpointState load_checkpoint(const std::filesystem::path& path, ParameterStore<T>& parameters,
                                Optimizer<T>& optimizer);

// The step a checkpoint holds, with the file checked whole (checksum, sizes) but nothing loaded:
// what a resume checks its settings against before anything is written.
long read_checkpoint_step(const std::filesystem::path& path);

}  // namespace condense
