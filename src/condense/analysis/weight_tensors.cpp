#include "condense/analysis/weight_tensors.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <map>
#include <nlohmann/json.hpp>

#include "condense/core/atomic_file.hpp"
#include "condense/core/error.hpp"
#include "condense/core/npy.hpp"

namespace condense {

namespace fs = std::filesystem;

namespace {

const char* kAcceptedShapes =
    "condense analyzes conv weights (out, in, kh, kw), linear weights (out, in), and biases "
    "(out) named <layer>.bias beside <layer>.weight";

double bfloat16_to_double(std::uint16_t h) {
  const std::uint32_t bits = std::uint32_t(h) << 16;
  float value;
  std::memcpy(&value, &bits, 4);
  return value;
}

// Bytes per element of a supported safetensors dtype; 0 for an unsupported one.
std::size_t safetensors_item_size(const std::string& dtype) {
  if (dtype == "F32") return 4;
  if (dtype == "F64") return 8;
  if (dtype == "F16" || dtype == "BF16") return 2;
  return 0;
}

std::int64_t element_count(const std::vector<std::int64_t>& shape) {
  std::int64_t count = 1;
  for (auto n : shape) count *= n;
  return count;
}

std::vector<std::int64_t> shape_of(const nlohmann::json& entry, const std::string& where) {
  if (!entry.contains("shape") || !entry["shape"].is_array())
    fail_input("{}: has no \"shape\" array", where);
  std::vector<std::int64_t> shape;
  for (const auto& n : entry["shape"]) {
    if (!n.is_number_integer() || n.get<std::int64_t>() < 0)
      fail_input("{}: \"shape\" must list non-negative integers, got {}", where,
                 entry["shape"].dump());
    shape.push_back(n.get<std::int64_t>());
  }
  return shape;
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

WeightTensors read_safetensors(const fs::path& path, bool skip_unsupported) {
  const std::string bytes = read_file(path);
  const std::string file = path.string();
  if (bytes.size() < 8)
    fail_input(
        "{} is truncated: a safetensors file starts with an 8-byte header length, the file "
        "has {} bytes",
        file, bytes.size());
  std::uint64_t header_length = 0;
  for (int i = 0; i < 8; ++i)
    header_length |= std::uint64_t(static_cast<unsigned char>(bytes[std::size_t(i)])) << (8 * i);
  if (header_length > bytes.size() - 8)
    fail_input(
        "{} is truncated or not a safetensors file: its header length is {} bytes, but "
        "only {} bytes follow",
        file, header_length, bytes.size() - 8);
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(bytes.substr(8, header_length));
  } catch (const nlohmann::json::parse_error& e) {
    fail_input("{}: the safetensors header is not valid JSON ({})", file, e.what());
  }
  if (!header.is_object()) fail_input("{}: the safetensors header must be a JSON object", file);
  const std::size_t data_begin = 8 + std::size_t(header_length);
  const std::size_t data_size = bytes.size() - data_begin;

  struct Entry {
    std::size_t begin;
    NamedTensor tensor;
  };
  std::vector<Entry> entries;
  WeightTensors result;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") continue;
    const std::string where = fmt::format("{}: tensor {}", file, name);
    if (!entry.is_object())
      fail_input("{}: expected an object with dtype, shape, data_offsets", where);
    if (!entry.contains("dtype") || !entry["dtype"].is_string())
      fail_input("{}: has no \"dtype\" string", where);
    const std::string dtype = entry["dtype"].get<std::string>();
    const std::vector<std::int64_t> shape = shape_of(entry, where);
    const auto& offsets = entry.contains("data_offsets") ? entry["data_offsets"] : nlohmann::json();
    if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() ||
        !offsets[1].is_number_unsigned())
      fail_input("{}: \"data_offsets\" must be [begin, end] with 0 ≤ begin ≤ end", where);
    const std::uint64_t begin = offsets[0].get<std::uint64_t>(),
                        end = offsets[1].get<std::uint64_t>();
    if (begin > end || end > data_size)
      fail_input(
          "{}: data_offsets [{}, {}] lie outside the {} bytes of data after the header "
          "(is the file truncated?)",
          where, begin, end, data_size);
    const std::size_t item = safetensors_item_size(dtype);
    if (item == 0) {
      if (skip_unsupported) {
        result.skipped.push_back(fmt::format("{}: dtype {} is not a float type", name, dtype));
        continue;
      }
      fail_input(
          "{} has dtype {}; supported dtypes: F32, F64, F16, BF16 (--skip-unsupported skips "
          "other tensors)",
          where, dtype);
    }
    const std::int64_t count = element_count(shape);
    if (end - begin != std::uint64_t(count) * item)
      fail_input("{}: shape {} of {} needs {} bytes, but data_offsets [{}, {}] hold {}", where,
                 shape_string(shape), dtype, std::uint64_t(count) * item, begin, end, end - begin);
    NamedTensor tensor{name, shape, std::vector<double>(std::size_t(count)), file};
    const char* data = bytes.data() + data_begin + begin;
    for (std::int64_t i = 0; i < count; ++i) {
      const char* at = data + std::size_t(i) * item;
      double& value = tensor.values[std::size_t(i)];
      if (dtype == "F32") {
        float v;
        std::memcpy(&v, at, 4);
        value = v;
      } else if (dtype == "F64") {
        std::memcpy(&value, at, 8);
      } else {
        std::uint16_t h;
        std::memcpy(&h, at, 2);
        value = dtype == "F16" ? half_to_double(h) : bfloat16_to_double(h);
      }
    }
    entries.push_back({std::size_t(begin), std::move(tensor)});
  }
  // The data order is the order the tensors were saved in (a state_dict's, usually).
  std::stable_sort(entries.begin(), entries.end(),
                   [](const Entry& a, const Entry& b) { return a.begin < b.begin; });
  for (auto& e : entries) result.tensors.push_back(std::move(e.tensor));
  return result;
}

WeightTensors read_npy_weights(const fs::path& path, bool skip_unsupported) {
  std::vector<fs::path> files;
  if (fs::is_directory(path)) {
    for (const auto& entry : fs::directory_iterator(path))
      if (entry.is_regular_file() && entry.path().extension() == ".npy")
        files.push_back(entry.path());
    if (files.empty()) fail_input("{} holds no .npy files", path.string());
    std::sort(files.begin(), files.end(), [](const fs::path& a, const fs::path& b) {
      return natural_less(a.filename().string(), b.filename().string());
    });
  } else {
    files.push_back(path);
  }
  WeightTensors result;
  for (const auto& file : files) {
    const NpyArray array = read_npy(file);
    const std::string name = file.stem().string();
    if (array.type == NpyType::int64) {
      if (skip_unsupported) {
        result.skipped.push_back(fmt::format("{}: dtype int64 is not a float type", name));
        continue;
      }
      fail_input(
          "{}: tensor {} is int64; weights must be float32 or float64 (--skip-unsupported "
          "skips other tensors)",
          file.string(), name);
    }
    result.tensors.push_back({name, array.shape, array.values, file.string()});
  }
  return result;
}

WeightTensors read_weight_tensors(const fs::path& path, bool skip_unsupported) {
  if (!fs::exists(path)) fail_input("{} does not exist", path.string());
  if (fs::is_directory(path)) return read_npy_weights(path, skip_unsupported);
  const std::string extension = path.extension().string();
  if (extension == ".npy") return read_npy_weights(path, skip_unsupported);
  if (extension == ".safetensors") return read_safetensors(path, skip_unsupported);
  const std::string start = read_file(path).substr(0, 6);
  if (start == "\x93NUMPY") return read_npy_weights(path, skip_unsupported);
  return read_safetensors(path, skip_unsupported);
}

std::vector<LayerWeights> group_layers(const std::vector<NamedTensor>& tensors,
                                       bool skip_unsupported, std::vector<std::string>* skipped) {
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
      layer.shape = t.shape;
      layer.weight = t.values;
      if (has_suffix(t.name, ".weight")) {
        const auto bias = by_name.find(layer.layer + ".bias");
        if (bias != by_name.end() && bias->second->shape == std::vector<std::int64_t>{t.shape[0]})
          layer.bias = bias->second->values;
      }
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
