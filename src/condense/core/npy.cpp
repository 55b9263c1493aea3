#include "condense/core/npy.hpp"

#include <cstring>
#include <numeric>
#include <string_view>

#include "condense/core/atomic_file.hpp"
#include "condense/core/error.hpp"

namespace condense {

namespace {

constexpr std::string_view kMagic = "\x93NUMPY";

const char* descr(NpyType type) {
  switch (type) {
    case NpyType::float32: return "<f4";
    case NpyType::float64: return "<f8";
    case NpyType::int64: return "<i8";
  }
  return "";
}

std::size_t item_size(NpyType type) { return type == NpyType::float32 ? 4 : 8; }

// The value of `key` in the header dict, e.g. 'descr': '<f8' -> <f8.
std::string header_value(const std::string& header, const std::string& key,
                         const std::filesystem::path& path) {
  const auto at = header.find("'" + key + "'");
  if (at == std::string::npos) fail_input("{}: NPY header has no '{}'", path.string(), key);
  auto start = header.find(':', at);
  if (start == std::string::npos) fail_input("{}: malformed NPY header", path.string());
  ++start;
  while (start < header.size() && header[start] == ' ') ++start;
  std::size_t end;
  if (header[start] == '\'') {
    end = header.find('\'', start + 1);
    return header.substr(start + 1, end - start - 1);
  }
  if (header[start] == '(') {
    end = header.find(')', start);
    return header.substr(start, end - start + 1);
  }
  end = header.find_first_of(",}", start);
  return header.substr(start, end - start);
}

}  // namespace

std::int64_t NpyArray::size() const {
  return std::accumulate(shape.begin(), shape.end(), std::int64_t{1}, std::multiplies<>());
}

std::string shape_string(const std::vector<std::int64_t>& shape) {
  std::string s = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    s += std::to_string(shape[i]);
    if (shape.size() == 1 || i + 1 < shape.size()) s += shape.size() == 1 ? "," : ", ";
  }
  return s + ")";
}

template <class T>
void write_npy(const std::filesystem::path& path, const T* values,
               const std::vector<std::int64_t>& shape, NpyType type, Flush flush) {
  std::string header = fmt::format("{{'descr': '{}', 'fortran_order': False, 'shape': {}, }}",
                                   descr(type), shape_string(shape));
  // Magic (6) + version (2) + header length (2) + header, padded with spaces to a multiple of 64
  // and ended by a newline.
  const std::size_t unpadded = 10 + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header += '\n';
  const std::int64_t count =
      std::accumulate(shape.begin(), shape.end(), std::int64_t{1}, std::multiplies<>());
  std::string bytes;
  bytes.reserve(10 + header.size() + std::size_t(count) * item_size(type));
  bytes += kMagic;
  bytes += char(1);
  bytes += char(0);
  bytes += char(header.size() & 0xff);
  bytes += char((header.size() >> 8) & 0xff);
  bytes += header;
  for (std::int64_t i = 0; i < count; ++i) {
    char buffer[8];
    if (type == NpyType::float32) {
      const float v = float(values[i]);
      std::memcpy(buffer, &v, 4);
    } else if (type == NpyType::float64) {
      const double v = double(values[i]);
      std::memcpy(buffer, &v, 8);
    } else {
      const std::int64_t v = std::int64_t(values[i]);
      std::memcpy(buffer, &v, 8);
    }
    bytes.append(buffer, item_size(type));
  }
  write_file_atomic(path, bytes, flush);
}

template <class T>
void write_npy(const std::filesystem::path& path, const T* values,
               const std::vector<std::int64_t>& shape, Flush flush) {
  NpyType type = NpyType::int64;
  if constexpr (std::is_same_v<T, float>) type = NpyType::float32;
  if constexpr (std::is_same_v<T, double>) type = NpyType::float64;
  write_npy(path, values, shape, type, flush);
}

NpyArray read_npy(const std::filesystem::path& path) {
  const std::string bytes = read_file(path);
  if (bytes.size() < 10 || std::string_view(bytes).substr(0, 6) != kMagic)
    fail_input("{} is not an NPY file (no \\x93NUMPY magic)", path.string());
  const int major = static_cast<unsigned char>(bytes[6]);
  std::size_t header_length, offset;
  if (major == 1) {
    header_length = static_cast<unsigned char>(bytes[8]) |
                    (std::size_t(static_cast<unsigned char>(bytes[9])) << 8);
    offset = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) fail_input("{}: truncated NPY header", path.string());
    header_length = 0;
    for (int i = 0; i < 4; ++i)
      header_length |= std::size_t(static_cast<unsigned char>(bytes[8 + i])) << (8 * i);
    offset = 12;
  } else {
    fail_input("{}: NPY version {} is not supported", path.string(), major);
  }
  if (bytes.size() < offset + header_length) fail_input("{}: truncated NPY header", path.string());
  const std::string header = bytes.substr(offset, header_length);
  offset += header_length;

  NpyArray array;
  const std::string type = header_value(header, "descr", path);
  if (type == "<f4") array.type = NpyType::float32;
  else if (type == "<f8") array.type = NpyType::float64;
  else if (type == "<i8") array.type = NpyType::int64;
  else
    fail_input("{}: dtype '{}' is not supported; expected float32 ('<f4'), float64 ('<f8') or "
               "int64 ('<i8')", path.string(), type);
  if (header_value(header, "fortran_order", path) != "False")
    fail_input("{}: Fortran-ordered arrays are not supported; save with C order", path.string());
  const std::string shape = header_value(header, "shape", path);
  std::size_t at = 1;
  while (at < shape.size()) {
    while (at < shape.size() && (shape[at] == ' ' || shape[at] == ',')) ++at;
    if (at >= shape.size() || shape[at] == ')') break;
    std::size_t used = 0;
    try {
      array.shape.push_back(std::stoll(shape.substr(at), &used));
    } catch (const std::exception&) {
      fail_input("{}: malformed NPY shape {}", path.string(), shape);
    }
    at += used;
  }
  const std::size_t size = item_size(array.type);
  const std::int64_t count = array.size();
  if (bytes.size() - offset != std::size_t(count) * size)
    fail_input("{}: shape {} needs {} bytes of data, the file has {}", path.string(), shape,
               std::size_t(count) * size, bytes.size() - offset);
  array.values.resize(std::size_t(count));
  const char* data = bytes.data() + offset;
  for (std::int64_t i = 0; i < count; ++i) {
    if (array.type == NpyType::float32) {
      float v;
      std::memcpy(&v, data + i * 4, 4);
      array.values[i] = v;
    } else if (array.type == NpyType::float64) {
      std::memcpy(&array.values[i], data + i * 8, 8);
    } else {
      std::int64_t v;
      std::memcpy(&v, data + i * 8, 8);
      array.values[i] = double(v);
    }
  }
  return array;
}

template void write_npy<float>(const std::filesystem::path&, const float*,
                               const std::vector<std::int64_t>&, NpyType, Flush);
template void write_npy<double>(const std::filesystem::path&, const double*,
                                const std::vector<std::int64_t>&, NpyType, Flush);
template void write_npy<std::int64_t>(const std::filesystem::path&, const std::int64_t*,
                                      const std::vector<std::int64_t>&, NpyType, Flush);
template void write_npy<float>(const std::filesystem::path&, const float*,
                               const std::vector<std::int64_t>&, Flush);
template void write_npy<double>(const std::filesystem::path&, const double*,
                                const std::vector<std::int64_t>&, Flush);
template void write_npy<std::int64_t>(const std::filesystem::path&, const std::int64_t*,
                                      const std::vector<std::int64_t>&, Flush);

}  // namespace condense
