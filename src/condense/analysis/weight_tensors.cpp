#include "condense/analysis/weight_tensors.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>

#include "condense/analysis/foreign_formats.hpp"
#include "condense/core/atomic_file.hpp"
#include "condense/core/error.hpp"
#include "condense/core/npy.hpp"

namespace condense {

namespace fs = std::filesystem;

namespace {

const char* kAcceptedShapes =
    "condense analyzes conv weights (out, in, kh, kw), linear weights (out, in), and biases "
    "(out) named <layer>.bias beside <layer>.weight";

std::int64_t element_count(const std::vector<std::int64_t>& shape) {
  std::int64_t count = 1;
  for (auto n : shape) count *= n;
  return count;
}

bool has_suffix(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string layer_name(const std::string& weight_name) {
  return has_suffix(weight_name, ".weight")
             ? weight_name.substr(0, weight_name.size() - std::string(".weight").size())
             : weight_name;
}

}  // namespace

bool natural_less(const std::string& a, const std::string& b) {
  std::size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    if (std::isdigit(static_cast<unsigned char>(a[i])) &&
        std::isdigit(static_cast<unsigned char>(b[j]))) {
      std::size_t i_end = i, j_end = j;
      while (i_end < a.size() && std::isdigit(static_cast<unsigned char>(a[i_end]))) ++i_end;
      while (j_end < b.size() && std::isdigit(static_cast<unsigned char>(b[j_end]))) ++j_end;
      // Compare digit runs by value: strip leading zeros, then length, then digits.
      std::string x = a.substr(i, i_end - i), y = b.substr(j, j_end - j);
      x.erase(0, std::min(x.find_first_not_of('0'), x.size() - 1));
      y.erase(0, std::min(y.find_first_not_of('0'), y.size() - 1));
      if (x.size() != y.size()) return x.size() < y.size();
      if (x != y) return x < y;
      i = i_end;
      j = j_end;
    } else {
      if (a[i] != b[j]) return a[i] < b[j];
      ++i;
      ++j;
    }
  }
  return a.size() - i < b.size() - j;
}

namespace {

// Weight files beside which a directory without .npy files is probably given by mistake.
bool is_weights_file(const fs::path& file) {
  const std::string extension = file.extension().string();
  return extension == ".safetensors" || extension == ".pt" || extension == ".pth" ||
         extension == ".bin" || extension == ".ckpt" || extension == ".npz";
}

std::vector<fs::path> npy_files(const fs::path& directory) {
  std::vector<fs::path> files;
  std::vector<std::string> others;
  std::error_code error;
  for (fs::directory_iterator it(directory, error), end; !error && it != end; it.increment(error)) {
    std::error_code type_error;
    if (!it->is_regular_file(type_error)) continue;
    if (it->path().extension() == ".npy")
      files.push_back(it->path());
    else if (is_weights_file(it->path()))
      others.push_back(it->path().filename().string());
  }
  if (error) fail_io("cannot list {}: {}", directory.string(), error.message());
  if (files.empty()) {
    std::sort(others.begin(), others.end());
    if (others.empty()) fail_input("{} holds no .npy files", directory.string());
    fail_input("{} holds no .npy files, but {}: give a file itself, e.g. --weights {}",
               directory.string(), fmt::join(others, ", "), (directory / others[0]).string());
  }
  std::sort(files.begin(), files.end(), [](const fs::path& a, const fs::path& b) {
    return natural_less(a.filename().string(), b.filename().string());
  });
  return files;
}

// One NPY file's tensor, named by the file name without ".npy".
void add_npy_tensor(std::string_view bytes, const fs::path& file, bool skip_unsupported,
                    WeightTensors& result) {
  const std::string where = file.string(), name = file.stem().string();
  refuse_foreign_format(bytes, where);
  const NpyHeader header = parse_npy_header(bytes, where);
  if (!header.type || !is_float_type(*header.type)) {
    const std::string dtype = fmt::format("{} ('{}')", npy_dtype_name(header.descr), header.descr);
    if (skip_unsupported) {
      result.skipped.push_back(fmt::format("{}: dtype {} is not a float type", name, dtype));
      return;
    }
    fail_input(
        "{}: tensor {} is {}; weights must be float16, float32 or float64 ('<f2', '<f4', '<f8', "
        "or big-endian '>f2', '>f4', '>f8') (--skip-unsupported skips other tensors)",
        where, name, dtype);
  }
  NpyArray array = decode_npy(bytes, header, where);
  result.tensors.push_back({name, std::move(array.shape), std::move(array.values), where});
}

// Why a tensor's values cannot be measured; empty when they can. A bias may be all zero.
std::string unmeasurable_values(const NamedTensor& t, bool is_weight) {
  std::size_t nan = 0, infinite = 0, zero = 0;
  double largest = 0, sum_of_squares = 0;
  for (double v : t.values) {
    if (std::isnan(v)) {
      ++nan;
    } else if (std::isinf(v)) {
      ++infinite;
    } else {
      zero += v == 0;
      largest = std::max(largest, std::abs(v));
      sum_of_squares += v * v;  // as the measures compute norms
    }
  }
  const std::size_t n = t.values.size();
  if (nan == n) return fmt::format("all {} values are NaN", n);
  if (infinite == n) return fmt::format("all {} values are infinite", n);
  if (nan + infinite > 0) {
    std::string what = nan ? fmt::format("{} NaN", nan) : std::string();
    if (infinite) what += fmt::format("{}{} infinite", nan ? " and " : "", infinite);
    return fmt::format("holds {} value{} (of {})", what, nan + infinite == 1 ? "" : "s", n);
  }
  if (is_weight && zero == n) return fmt::format("all {} values are zero: nothing to measure", n);
  if (!std::isfinite(sum_of_squares))
    return fmt::format("holds values up to {:.3g}, whose squares overflow double precision",
                       largest);
  return "";
}

std::string too_many_kernels(const NamedTensor& t) {
  const std::int64_t M = t.shape[0];
  if (M > kMaxKernels)
    return fmt::format(
        "has {} kernels: their {} × {} cosine matrix would take {:.1f} GiB; condense measures "
        "layers of at most {} kernels",
        M, M, M, double(M) * double(M) * 8 / (1 << 30), kMaxKernels);
  if (element_count(t.shape) / M > std::numeric_limits<int>::max())
    return fmt::format("has kernels of {} values; condense measures kernels of at most {}",
                       element_count(t.shape) / M, std::numeric_limits<int>::max());
  return "";
}

}  // namespace

WeightTensors read_npy_weights(const fs::path& path, bool skip_unsupported) {
  return naming_file(path, [&] {
    WeightTensors result;
    std::error_code error;
    if (!fs::is_directory(path, error)) {
      add_npy_tensor(read_file(path), path, skip_unsupported, result);
      return result;
    }
    for (const fs::path& file : npy_files(path))
      naming_file(file, [&] { add_npy_tensor(read_file(file), file, skip_unsupported, result); });
    return result;
  });
}

WeightTensors read_weight_tensors(const fs::path& path, bool skip_unsupported) {
  return naming_file(path, [&] {
    std::error_code error;
    const fs::file_status status = fs::status(path, error);
    if (status.type() == fs::file_type::not_found) fail_input("{} does not exist", path.string());
    if (error) fail_io("cannot read {}: {}", path.string(), error.message());
    if (fs::is_directory(status)) return read_npy_weights(path, skip_unsupported);
    const std::string bytes = read_file(path);
    if (path.extension() == ".npy" || std::string_view(bytes).substr(0, 6) == "\x93NUMPY") {
      WeightTensors result;
      add_npy_tensor(bytes, path, skip_unsupported, result);
      return result;
    }
    return read_safetensors_bytes(bytes, path.string(), skip_unsupported);
  });
}

std::vector<LayerWeights> group_layers(const std::vector<NamedTensor>& tensors,
                                       bool skip_unsupported, std::vector<std::string>* skipped,
                                       std::vector<std::string>* unmeasurable) {
  std::map<std::string, const NamedTensor*> by_name;
  for (const auto& t : tensors) by_name[t.name] = &t;
  auto reject = [&](const NamedTensor& t, const std::string& why) {
    if (skip_unsupported) {
      if (skipped) skipped->push_back(fmt::format("{}: {}", t.name, why));
      return;
    }
    fail_input("{}: tensor {} {}; {} (--skip-unsupported skips other tensors)", t.origin, t.name,
               why, kAcceptedShapes);
  };

  std::vector<LayerWeights> layers;
  for (const auto& t : tensors) {
    const std::size_t rank = t.shape.size();
    if (rank == 4 || rank == 2) {
      if (t.shape[0] == 0 || element_count(t.shape) == 0) {
        reject(t, fmt::format("has shape {} with no kernels", shape_string(t.shape)));
        continue;
      }
      LayerWeights layer;
      layer.layer = layer_name(t.name);
      const NamedTensor* bias = nullptr;
      if (has_suffix(t.name, ".weight")) {
        const auto found = by_name.find(layer.layer + ".bias");
        if (found != by_name.end() && found->second->shape == std::vector<std::int64_t>{t.shape[0]})
          bias = found->second;
      }
      if (unmeasurable) {
        std::string why = too_many_kernels(t);
        if (why.empty()) why = unmeasurable_values(t, true);
        if (!why.empty()) {
          unmeasurable->push_back(fmt::format("{}: {}", t.name, why));
          continue;
        }
        if (bias && !(why = unmeasurable_values(*bias, false)).empty()) {
          unmeasurable->push_back(fmt::format("{}: {}", bias->name, why));
          continue;
        }
      }
      layer.shape = t.shape;
      layer.weight = t.values;
      if (bias) layer.bias = bias->values;
      layers.push_back(std::move(layer));
      continue;
    }
    if (rank == 1 && has_suffix(t.name, ".bias")) {
      const std::string prefix = t.name.substr(0, t.name.size() - std::string(".bias").size());
      const auto weight = by_name.find(prefix + ".weight");
      if (weight != by_name.end()) {
        const auto& w = weight->second->shape;
        if (w.size() != 2 && w.size() != 4) {
          reject(t, fmt::format("has shape {} and belongs to {} of shape {}, which is neither a "
                                "conv nor a linear weight",
                                shape_string(t.shape), weight->second->name, shape_string(w)));
          continue;
        }
        if (t.shape[0] == w[0]) continue;  // taken with its weight
        reject(t, fmt::format("has shape {}, but {} has shape {}", shape_string(t.shape),
                              weight->second->name, shape_string(w)));
        continue;
      }
      reject(t,
             fmt::format("has shape {} and no {}.weight beside it", shape_string(t.shape), prefix));
      continue;
    }
    reject(t, fmt::format("has shape {} ({}-D)", shape_string(t.shape), rank));
  }
  return layers;
}

template <class T>
std::vector<LayerWeights> layer_weights(const ParameterStore<T>& store) {
  std::vector<LayerWeights> layers;
  for (int id = 0; id < store.count(); ++id) {
    const ParameterInfo& info = store.info(id);
    if (info.is_bias || (info.shape.size() != 4 && info.shape.size() != 2)) continue;
    LayerWeights layer;
    layer.layer = info.layer;
    layer.shape = info.shape;
    const T* w = store.value(id);
    layer.weight.assign(w, w + info.size);
    for (int other = 0; other < store.count(); ++other) {
      const ParameterInfo& b = store.info(other);
      if (b.is_bias && b.layer == info.layer) {
        const T* values = store.value(other);
        layer.bias.assign(values, values + b.size);
      }
    }
    layers.push_back(std::move(layer));
  }
  return layers;
}

template std::vector<LayerWeights> layer_weights<float>(const ParameterStore<float>&);
template std::vector<LayerWeights> layer_weights<double>(const ParameterStore<double>&);

}  // namespace condense
