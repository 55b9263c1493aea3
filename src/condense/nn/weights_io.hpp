#pragma once
// A model's weights as NPY files named as PyTorch names them: DIR/conv1.weight.npy,
// DIR/fc2.bias.npy, ... with PyTorch's shapes. numpy.load or torch.from_numpy reads them.
#include <filesystem>

#include "condense/nn/parameters.hpp"

namespace condense {

// Writes every tensor of the store to DIR/<name>.npy (in T's own dtype), atomically.
template <class T>
void save_weights(const ParameterStore<T>& store, const std::filesystem::path& directory);

// Loads every tensor of the store from DIR/<name>.npy. A missing file, a wrong shape or an
// unsupported dtype throws InputError naming the file and what was expected.
template <class T>
void load_weights(ParameterStore<T>& store, const std::filesystem::path& directory);

}  // namespace condense
