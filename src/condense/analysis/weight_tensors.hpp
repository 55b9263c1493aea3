#pragma once
// Weights as the analysis reads them: from a parameter store (training), a snapshot directory of
// NPY files (condense analyze RUN), or weights trained elsewhere (a directory of NPY files, one
// NPY file, or a safetensors file). Tensors are grouped into layers: "<layer>.weight" of shape
// (out, in, kh, kw) or (out, in), with an optional "<layer>.bias" of shape (out).
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "condense/analysis/measures.hpp"
#include "condense/nn/parameters.hpp"

namespace condense {

struct NamedTensor {
  std::string name;  // "conv1.weight"
  std::vector<std::int64_t> shape;
  std::vector<double> values;  // row-major
  std::string origin;          // the file it came from, for messages
};

struct WeightTensors {
  std::vector<NamedTensor> tensors;
  std::vector<std::string> skipped;  // "name: reason", when unsupported tensors are skipped
};

// Reads a safetensors file: an 8-byte little-endian header length, a JSON header
// {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__"?}, then the data.
// F32, F64, F16 and BF16 tensors are read, in the order of their data. A tensor of another dtype
// throws InputError naming the file and the tensor, or is listed in `skipped` when
// `skip_unsupported`. Everything else that breaks the format always throws InputError naming the
// file: a PyTorch pickle or zip archive (said as such), a header longer than 100,000,000 bytes or
// than the file, nested deeper than 8 levels, not a JSON object, a tensor named twice, a field
// of the wrong type, a shape whose size is not its data_offsets', offsets that leave the data,
// overlap, or leave gaps in it.
WeightTensors read_safetensors(const std::filesystem::path& path, bool skip_unsupported);
// The same for the bytes of a file already read; `file` names it in messages.
WeightTensors read_safetensors_bytes(std::string_view bytes, const std::string& file,
                                     bool skip_unsupported);

// Reads every *.npy file of a directory (names without ".npy", in natural order: conv2 before
// conv10), or one .npy file. Float16, float32 and float64 arrays are tensors (either byte order,
// C or Fortran order); arrays of other dtypes (int64, bool, ...) are unsupported tensors, listed
// in `skipped` when `skip_unsupported` and an InputError naming the file and dtype otherwise.
WeightTensors read_npy_weights(const std::filesystem::path& path, bool skip_unsupported);

// A directory, or a file: NPY or safetensors by its first bytes (a PyTorch file, whatever its
// extension, is an InputError that says how to convert it). Every error names the file.
WeightTensors read_weight_tensors(const std::filesystem::path& path, bool skip_unsupported);

// Groups tensors into layers, in the order of their weights. Accepted: 4-D conv weights
// (out, in, kh, kw), 2-D linear weights (out, in), and 1-D "<layer>.bias" of length out beside
// "<layer>.weight". A layer is named by its weight's name without ".weight". Any other tensor
// throws InputError naming its file, name and shape and the accepted shapes, or is listed in
// `skipped` when `skip_unsupported`.
//
// With `unmeasurable`, layers that cannot be measured are left out and listed there as
// "<tensor>: <why>": a weight or bias holding NaN or infinite values, a weight that is all zero,
// values whose squares overflow double precision, or more kernels than kMaxKernels.
std::vector<LayerWeights> group_layers(const std::vector<NamedTensor>& tensors,
                                       bool skip_unsupported, std::vector<std::string>* skipped,
                                       std::vector<std::string>* unmeasurable = nullptr);

// The most kernels of a layer condense measures from foreign weights: the (M, M) cosine matrix
// of doubles then takes 2 GiB.
inline constexpr std::int64_t kMaxKernels = 16384;

// Every conv and linear layer of a model (weights of 4 or 2 dimensions), in the store's order.
template <class T>
std::vector<LayerWeights> layer_weights(const ParameterStore<T>& store);

// Orders names as people do: "conv2" < "conv10" < "fc1".
bool natural_less(const std::string& a, const std::string& b);

}  // namespace condense
