#pragma once
// NPY files (numpy's format, versions 1.0, 2.0 and 3.0): what numpy, PyTorch and every plotting
// script read. Written: little-endian float and integer arrays in C order. Read: those, big-endian
// ones ('>f4'), and Fortran-ordered ones (converted to C order).
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "condense/core/atomic_file.hpp"

namespace condense {

enum class NpyType {
  float16,
  float32,
  float64,
  int64,
  int8,
  int16,
  int32,
  uint8,
  uint16,
  uint32,
  uint64
};

bool is_float_type(NpyType type);         // float16, float32, float64
const char* npy_type_name(NpyType type);  // numpy's name: "float32", "uint8", ...

struct NpyArray {
  NpyType type = NpyType::float64;
  std::vector<std::int64_t> shape;
  std::vector<double> values;  // converted to double on reading (exactly up to 2^53); C order

  std::int64_t size() const;
};

// Writes an array atomically (core/atomic_file.hpp). `values` are stored as `type` (float16
// rounds to nearest, ties to even; an integer type takes values it can hold).
template <class T>
void write_npy(const std::filesystem::path& path, const T* values,
               const std::vector<std::int64_t>& shape, NpyType type, Flush flush = Flush::now);

template <class T>
void write_npy(const std::filesystem::path& path, const T* values,
               const std::vector<std::int64_t>& shape,
               Flush flush = Flush::now);  // stored in T's own type

// The header of an NPY file, checked: the three keys numpy writes and no others, a shape of
// non-negative integers. The dtype may be one condense does not read (`type` is then empty).
struct NpyHeader {
  std::string descr;            // as written: "<f4", "|u1", "<U10"
  std::optional<NpyType> type;  // the dtype when condense reads it
  bool big_endian = false;
  bool fortran_order = false;
  std::vector<std::int64_t> shape;
  std::string shape_text;  // the shape as written in the file, for messages
  std::size_t data_offset = 0;
};

// Parses the header of an NPY file held in `bytes`; `file` names it in messages. Throws
// InputError for anything but a well-formed header.
NpyHeader parse_npy_header(std::string_view bytes, const std::string& file);

// The array of a parsed header: checks that the data is exactly what the shape and dtype need
// (before allocating anything) and converts it to double in C order.
NpyArray decode_npy(std::string_view bytes, const NpyHeader& header, const std::string& file);

// Reads an NPY file; throws InputError naming the path if the header, dtype or size is wrong.
NpyArray read_npy(const std::filesystem::path& path);

// numpy's name of a dtype descr, for messages: "<f2" → "float16", "|b1" → "bool".
std::string npy_dtype_name(const std::string& descr);

// The dtypes read_npy reads, for messages.
extern const char* const kNpyReadableDtypes;

// IEEE 754 half precision (float16) to double, exactly; and double to the nearest half.
double half_to_double(std::uint16_t bits);
std::uint16_t double_to_half(double value);

std::string shape_string(const std::vector<std::int64_t>& shape);

}  // namespace condense
