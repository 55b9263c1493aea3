// The safetensors reader (declared in weight_tensors.hpp). The header is hostile input: it is
// bounded in length and nesting before it is parsed, every field is type-checked, and sizes are
// checked against the file before anything is allocated. The rules are the format's own, as the
// safetensors library enforces them: a header of at most 100,000,000 bytes, tensors whose
// data_offsets cover the data after the header exactly, in order, without gaps or overlaps.
#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

#include "condense/analysis/foreign_formats.hpp"
#include "condense/analysis/weight_tensors.hpp"
#include "condense/core/atomic_file.hpp"
#include "condense/core/error.hpp"
#include "condense/core/json_file.hpp"
#include "condense/core/npy.hpp"

namespace condense {

namespace {

constexpr std::uint64_t kMaxHeaderLength = 100'000'000;
// A safetensors header nests 3 deep ({name: {"shape": [...]}}); nlohmann's parser and dump()
// recurse, so deeper nesting is refused before parsing.
constexpr int kMaxNesting = 8;

double bfloat16_to_double(std::uint16_t h) {
  const std::uint32_t bits = std::uint32_t(h) << 16;
  float value;
  std::memcpy(&value, &bits, 4);
  return value;
}

// Bytes per element of every safetensors dtype; 0 for an unknown name.
std::size_t dtype_size(const std::string& dtype) {
  if (dtype == "F64" || dtype == "I64" || dtype == "U64") return 8;
  if (dtype == "F32" || dtype == "I32" || dtype == "U32") return 4;
  if (dtype == "F16" || dtype == "BF16" || dtype == "I16" || dtype == "U16") return 2;
  if (dtype == "BOOL" || dtype == "U8" || dtype == "I8" || dtype == "F8_E5M2" || dtype == "F8_E4M3")
    return 1;
  return 0;
}

bool is_float(const std::string& dtype) {
  return dtype == "F32" || dtype == "F64" || dtype == "F16" || dtype == "BF16";
}

// A JSON value for a message, cut short: a header may hold megabytes in one field.
std::string excerpt(const nlohmann::json& value) {
  std::string text = value.dump();
  if (text.size() > 80) text = text.substr(0, 77) + "...";
  return text;
}

void check_nesting(std::string_view text, const std::string& file) {
  if (const std::size_t at = json_nesting_beyond(text, kMaxNesting); at != std::string_view::npos)
    fail_input(
        "{}: the safetensors header nests JSON more than {} levels deep (at byte {} of the "
        "header); a safetensors header nests 3 levels: {{name: {{\"shape\": [...]}}}}",
        file, kMaxNesting, at);
}

struct Entry {
  std::string name;
  std::string dtype;
  std::vector<std::int64_t> shape;
  std::uint64_t begin = 0, end = 0;
  std::string where;  // "FILE: tensor NAME"
};

std::vector<std::int64_t> shape_of(const nlohmann::json& entry, const std::string& where) {
  const auto shape = entry.find("shape");
  if (shape == entry.end() || !shape->is_array()) fail_input("{}: has no \"shape\" array", where);
  std::vector<std::int64_t> dims;
  for (const auto& n : *shape) {
    if (!n.is_number_unsigned() ||
        n.get<std::uint64_t>() > std::uint64_t(std::numeric_limits<std::int64_t>::max()))
      fail_input("{}: \"shape\" must list non-negative integers below 2^63, got {}", where,
                 excerpt(*shape));
    dims.push_back(n.get<std::int64_t>());
  }
  return dims;
}

Entry entry_of(const std::string& name, const nlohmann::json& entry, const std::string& file,
               std::uint64_t data_size) {
  Entry e;
  e.name = name;
  e.where = fmt::format("{}: tensor {}", file, name);
  if (!entry.is_object())
    fail_input("{}: expected an object with dtype, shape, data_offsets, got {}", e.where,
               excerpt(entry));
  const auto dtype = entry.find("dtype");
  if (dtype == entry.end() || !dtype->is_string())
    fail_input("{}: has no \"dtype\" string", e.where);
  e.dtype = dtype->get<std::string>();
  e.shape = shape_of(entry, e.where);
  const auto offsets = entry.find("data_offsets");
  if (offsets == entry.end() || !offsets->is_array() || offsets->size() != 2 ||
      !(*offsets)[0].is_number_unsigned() || !(*offsets)[1].is_number_unsigned())
    fail_input("{}: \"data_offsets\" must be [begin, end] with 0 ≤ begin ≤ end, got {}", e.where,
               offsets == entry.end() ? std::string("nothing") : excerpt(*offsets));
  e.begin = (*offsets)[0].get<std::uint64_t>();
  e.end = (*offsets)[1].get<std::uint64_t>();
  if (e.begin > e.end || e.end > data_size)
    fail_input(
        "{}: data_offsets [{}, {}] lie outside the {} bytes of data after the header "
        "(is the file truncated?)",
        e.where, e.begin, e.end, data_size);
  const std::size_t item = dtype_size(e.dtype);
  if (item == 0) return e;  // unknown: only its offsets can be checked
  // The byte count of the shape, computed without wrapping around 2^64 (a zero dimension makes
  // the tensor empty whatever the others say).
  const bool empty = std::find(e.shape.begin(), e.shape.end(), 0) != e.shape.end();
  std::uint64_t count = empty ? 0 : 1, needed = 0;
  bool overflow = false;
  for (std::int64_t n : e.shape)
    if (!empty) overflow = overflow || __builtin_mul_overflow(count, std::uint64_t(n), &count);
  overflow = overflow || __builtin_mul_overflow(count, std::uint64_t(item), &needed);
  if (overflow)
    fail_input("{}: shape {} of {} needs more than 2^64 bytes, but data_offsets [{}, {}] hold {}",
               e.where, shape_string(e.shape), e.dtype, e.begin, e.end, e.end - e.begin);
  if (needed != e.end - e.begin)
    fail_input("{}: shape {} of {} needs {} bytes, but data_offsets [{}, {}] hold {}", e.where,
               shape_string(e.shape), e.dtype, needed, e.begin, e.end, e.end - e.begin);
  return e;
}

// The offsets of all tensors, in order, must tile the data: no gap, no overlap, nothing after.
void check_tiling(std::vector<Entry>& entries, std::uint64_t data_size, const std::string& file) {
  std::stable_sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  std::uint64_t covered = 0;
  const Entry* previous = nullptr;
  for (const Entry& e : entries) {
    if (e.begin < covered)
      fail_input(
          "{}: tensors {} and {} overlap: data_offsets [{}, {}] and [{}, {}]; each byte of "
          "a safetensors file's data belongs to one tensor",
          file, previous->name, e.name, previous->begin, previous->end, e.begin, e.end);
    if (e.begin > covered)
      fail_input(
          "{}: bytes {} to {} of the data belong to no tensor ({} begins at {}); a "
          "safetensors file's tensors cover its data without gaps",
          file, covered, e.begin, e.name, e.begin);
    covered = e.end;
    previous = &e;
  }
  if (covered != data_size)
    fail_input(
        "{}: {} bytes of data follow the header, but its tensors end at byte {}; a "
        "safetensors file's tensors cover its data without gaps",
        file, data_size, covered);
}

std::vector<double> values_of(const Entry& e, const char* data) {
  const std::size_t item = dtype_size(e.dtype);
  std::vector<double> values(std::size_t((e.end - e.begin) / item));
  for (std::size_t i = 0; i < values.size(); ++i) {
    const char* at = data + e.begin + i * item;
    if (e.dtype == "F32") {
      float v;
      std::memcpy(&v, at, 4);
      values[i] = v;
    } else if (e.dtype == "F64") {
      std::memcpy(&values[i], at, 8);
    } else {
      std::uint16_t h;
      std::memcpy(&h, at, 2);
      values[i] = e.dtype == "F16" ? half_to_double(h) : bfloat16_to_double(h);
    }
  }
  return values;
}

WeightTensors parse_safetensors(std::string_view bytes, const std::string& file,
                                bool skip_unsupported) {
  if (bytes.substr(0, 6) == "\x93NUMPY")
    fail_input("{} is an NPY file, not a safetensors file: name it .npy", file);
  refuse_foreign_format(bytes, file);
  if (bytes.size() < 8)
    fail_input(
        "{} is truncated: a safetensors file starts with an 8-byte header length, the file "
        "has {} bytes",
        file, bytes.size());
  std::uint64_t header_length = 0;
  for (int i = 0; i < 8; ++i)
    header_length |= std::uint64_t(static_cast<unsigned char>(bytes[std::size_t(i)])) << (8 * i);
  if (header_length > kMaxHeaderLength)
    fail_input(
        "{} is not a safetensors file: its first 8 bytes give a header length of {} bytes, "
        "more than the format's limit of {}",
        file, header_length, kMaxHeaderLength);
  if (header_length > bytes.size() - 8)
    fail_input(
        "{} is truncated or not a safetensors file: its header length is {} bytes, but "
        "only {} bytes follow",
        file, header_length, bytes.size() - 8);
  const std::string_view text = bytes.substr(8, std::size_t(header_length));
  check_nesting(text, file);
  // nlohmann keeps the last of two equal keys; the format allows each name once.
  std::set<std::string> names;
  const auto refuse_duplicates = [&](int depth, nlohmann::json::parse_event_t event,
                                     nlohmann::json& parsed) {
    if (event == nlohmann::json::parse_event_t::key && depth == 1 &&
        !names.insert(parsed.get<std::string>()).second)
      fail_input("{}: the safetensors header names the tensor {} twice", file,
                 parsed.get<std::string>());
    return true;
  };
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(text, refuse_duplicates);
  } catch (const nlohmann::json::exception& e) {  // parse_error, or out_of_range (1e999)
    fail_input("{}: the safetensors header is not valid JSON ({})", file, e.what());
  }
  if (!header.is_object()) fail_input("{}: the safetensors header must be a JSON object", file);
  const std::size_t data_begin = 8 + std::size_t(header_length);
  const std::uint64_t data_size = bytes.size() - data_begin;

  std::vector<Entry> entries;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      if (!entry.is_object() ||
          !std::all_of(entry.begin(), entry.end(), [](const auto& v) { return v.is_string(); }))
        fail_input("{}: \"__metadata__\" must map names to strings, got {}", file, excerpt(entry));
      continue;
    }
    entries.push_back(entry_of(name, entry, file, data_size));
  }
  // The data order is the order the tensors were saved in (a state_dict's, usually).
  check_tiling(entries, data_size, file);

  WeightTensors result;
  for (const Entry& e : entries) {
    if (!is_float(e.dtype)) {
      const std::string what = dtype_size(e.dtype) == 0 ? "an unknown dtype" : "not a float type";
      if (skip_unsupported) {
        result.skipped.push_back(fmt::format("{}: dtype {} is {}", e.name, e.dtype, what));
        continue;
      }
      fail_input(
          "{} has dtype {} ({}); supported dtypes: F32, F64, F16, BF16 (--skip-unsupported "
          "skips other tensors)",
          e.where, e.dtype, what);
    }
    result.tensors.push_back({e.name, e.shape, values_of(e, bytes.data() + data_begin), file});
  }
  return result;
}

}  // namespace

WeightTensors read_safetensors(const std::filesystem::path& path, bool skip_unsupported) {
  return naming_file(
      path, [&] { return parse_safetensors(read_file(path), path.string(), skip_unsupported); });
}

WeightTensors read_safetensors_bytes(std::string_view bytes, const std::string& file,
                                     bool skip_unsupported) {
  return naming_file(file, [&] { return parse_safetensors(bytes, file, skip_unsupported); });
}

}  // namespace condense
