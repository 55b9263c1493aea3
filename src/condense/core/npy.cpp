#include "condense/core/npy.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <new>
#include <numeric>
#include <stdexcept>

#include "condense/core/atomic_file.hpp"
#include "condense/core/error.hpp"

namespace condense {

namespace {

constexpr std::string_view kMagic = "\x93NUMPY";
// numpy reads at most 64 dimensions (NPY_MAXDIMS of numpy 2; numpy 1 reads 32).
constexpr std::size_t kMaxDimensions = 64;

// Every dtype condense reads and writes: its descr as numpy writes it on a little-endian machine
// (one-byte types have no byte order, '|') and its item size.
struct TypeInfo {
  NpyType type;
  const char* descr;
  const char* name;
  std::size_t size;
};
constexpr TypeInfo kTypes[] = {
    {NpyType::float16, "<f2", "float16", 2}, {NpyType::float32, "<f4", "float32", 4},
    {NpyType::float64, "<f8", "float64", 8}, {NpyType::int8, "|i1", "int8", 1},
    {NpyType::int16, "<i2", "int16", 2},     {NpyType::int32, "<i4", "int32", 4},
    {NpyType::int64, "<i8", "int64", 8},     {NpyType::uint8, "|u1", "uint8", 1},
    {NpyType::uint16, "<u2", "uint16", 2},   {NpyType::uint32, "<u4", "uint32", 4},
    {NpyType::uint64, "<u8", "uint64", 8}};

const TypeInfo& info(NpyType type) {
  for (const TypeInfo& t : kTypes)
    if (t.type == type) return t;
  return kTypes[2];
}

const char* descr(NpyType type) {
  return info(type).descr;
}

std::size_t item_size(NpyType type) {
  return info(type).size;
}

// Reads the header dict numpy writes, {'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), },
// as a small grammar: quoted strings, True/False and tuples of integers. Anything else is an error
// naming the file; nothing here allocates more than the header's own length.
class HeaderParser {
 public:
  HeaderParser(std::string_view text, const std::string& file) : text_(text), file_(file) {}

  NpyHeader parse() {
    NpyHeader header;
    bool seen_descr = false, seen_order = false, seen_shape = false;
    expect('{');
    while (true) {
      skip_spaces();
      if (peek() == '}') break;
      const std::string key = quoted("a key");
      expect(':');
      if (key == "descr") {
        once(seen_descr, key);
        skip_spaces();
        if (peek() == '[')
          fail_input(
              "{}: the NPY array has a structured dtype (a list of named fields); "
              "condense reads plain arrays of numbers ({})",
              file_, kNpyReadableDtypes);
        header.descr = quoted("the dtype 'descr'");
      } else if (key == "fortran_order") {
        once(seen_order, key);
        header.fortran_order = boolean();
      } else if (key == "shape") {
        once(seen_shape, key);
        shape(header);
      } else {
        fail_input(
            "{}: the NPY header has the key '{}'; numpy writes only 'descr', "
            "'fortran_order' and 'shape'",
            file_, printable(key));
      }
      skip_spaces();
      if (peek() == ',') {
        ++at_;
        continue;
      }
      if (peek() != '}') malformed("',' or '}' after a value");
    }
    ++at_;
    // numpy pads the header with spaces and ends it with a newline.
    while (at_ < text_.size() && (text_[at_] == ' ' || text_[at_] == '\n' || text_[at_] == '\0' ||
                                  text_[at_] == '\r' || text_[at_] == '\t'))
      ++at_;
    if (at_ != text_.size()) malformed("nothing after the closing '}'");
    if (!seen_descr || !seen_order || !seen_shape)
      fail_input("{}: the NPY header lacks '{}'", file_,
                 !seen_descr   ? "descr"
                 : !seen_order ? "fortran_order"
                               : "shape");
    return header;
  }

 private:
  char peek() const { return at_ < text_.size() ? text_[at_] : '\0'; }

  void skip_spaces() {
    while (at_ < text_.size() && (text_[at_] == ' ' || text_[at_] == '\t')) ++at_;
  }

  [[noreturn]] void malformed(const char* expected) const {
    fail_input("{}: malformed NPY header, expected {} at character {} of \"{}\"", file_, expected,
               at_ + 1, printable(text_.substr(0, 200)));
  }

  static std::string printable(std::string_view text) {
    std::string out;
    for (char c : text) out += (c >= 32 && c < 127) ? c : '?';
    return out;
  }

  void expect(char c) {
    skip_spaces();
    if (peek() != c) malformed(c == '{' ? "'{'" : c == ':' ? "':'" : "a delimiter");
    ++at_;
  }

  void once(bool& seen, const std::string& key) {
    if (seen) fail_input("{}: the NPY header has '{}' twice", file_, key);
    seen = true;
  }

  std::string quoted(const char* what) {
    skip_spaces();
    const char quote = peek();
    if (quote != '\'' && quote != '"') malformed(what);
    const std::size_t end = text_.find(quote, at_ + 1);
    if (end == std::string_view::npos) malformed("a closing quote");
    std::string value(text_.substr(at_ + 1, end - at_ - 1));
    at_ = end + 1;
    return value;
  }

  bool boolean() {
    skip_spaces();
    if (text_.substr(at_, 4) == "True") {
      at_ += 4;
      return true;
    }
    if (text_.substr(at_, 5) == "False") {
      at_ += 5;
      return false;
    }
    malformed("True or False for 'fortran_order'");
  }

  void shape(NpyHeader& header) {
    skip_spaces();
    const std::size_t start = at_;
    if (peek() != '(') malformed("a tuple '(...)' for 'shape'");
    const std::size_t end = text_.find(')', at_);
    if (end == std::string_view::npos) malformed("a closing ')' for 'shape'");
    header.shape_text = printable(text_.substr(start, end - start + 1));
    ++at_;
    while (true) {
      skip_spaces();
      if (peek() == ')') break;
      if (header.shape.size() == kMaxDimensions)
        fail_input("{}: NPY shape {} has more than {} dimensions", file_, header.shape_text,
                   kMaxDimensions);
      if (peek() == '-')
        fail_input("{}: NPY shape {} has a negative dimension", file_, header.shape_text);
      std::int64_t n = 0;
      const char* first = text_.data() + at_;
      const auto [ptr, error] = std::from_chars(first, text_.data() + end, n);
      if (error == std::errc::result_out_of_range)
        fail_input("{}: NPY shape {} has a dimension larger than 2^63 - 1", file_,
                   header.shape_text);
      if (error != std::errc() || ptr == first)
        fail_input("{}: malformed NPY shape {}, expected a tuple of non-negative integers", file_,
                   header.shape_text);
      header.shape.push_back(n);
      at_ = std::size_t(ptr - text_.data());
      if (peek() == 'L') ++at_;  // Python 2's long integers: numpy of Python 2 wrote "(3L, 4L)"
      skip_spaces();
      if (peek() == ',') {
        ++at_;
        continue;
      }
      if (peek() != ')')
        fail_input("{}: malformed NPY shape {}, expected a tuple of non-negative integers", file_,
                   header.shape_text);
    }
    at_ = end + 1;
  }

  std::string_view text_;
  const std::string& file_;
  std::size_t at_ = 0;
};

template <class U>
U load(const char* at, bool swap) {
  unsigned char bytes[sizeof(U)];
  std::memcpy(bytes, at, sizeof(U));
  if (swap)
    for (std::size_t i = 0; i < sizeof(U) / 2; ++i) std::swap(bytes[i], bytes[sizeof(U) - 1 - i]);
  U value;
  std::memcpy(&value, bytes, sizeof(U));
  return value;
}

double load_value(NpyType type, const char* at, bool swap) {
  switch (type) {
    case NpyType::float16:
      return half_to_double(load<std::uint16_t>(at, swap));
    case NpyType::float32:
      return load<float>(at, swap);
    case NpyType::float64:
      return load<double>(at, swap);
    case NpyType::int8:
      return double(load<std::int8_t>(at, swap));
    case NpyType::int16:
      return double(load<std::int16_t>(at, swap));
    case NpyType::int32:
      return double(load<std::int32_t>(at, swap));
    case NpyType::int64:
      return double(load<std::int64_t>(at, swap));
    case NpyType::uint8:
      return double(load<std::uint8_t>(at, swap));
    case NpyType::uint16:
      return double(load<std::uint16_t>(at, swap));
    case NpyType::uint32:
      return double(load<std::uint32_t>(at, swap));
    case NpyType::uint64:
      return double(load<std::uint64_t>(at, swap));
  }
  return 0;
}

template <class Stored, class T>
void store(T value, char* buffer) {
  const auto stored = static_cast<Stored>(value);
  std::memcpy(buffer, &stored, sizeof(Stored));
}

template <class T>
void store_value(NpyType type, T value, char* buffer) {
  switch (type) {
    case NpyType::float16:
      return store<std::uint16_t>(double_to_half(double(value)), buffer);
    case NpyType::float32:
      return store<float>(value, buffer);
    case NpyType::float64:
      return store<double>(value, buffer);
    case NpyType::int8:
      return store<std::int8_t>(value, buffer);
    case NpyType::int16:
      return store<std::int16_t>(value, buffer);
    case NpyType::int32:
      return store<std::int32_t>(value, buffer);
    case NpyType::int64:
      return store<std::int64_t>(value, buffer);
    case NpyType::uint8:
      return store<std::uint8_t>(value, buffer);
    case NpyType::uint16:
      return store<std::uint16_t>(value, buffer);
    case NpyType::uint32:
      return store<std::uint32_t>(value, buffer);
    case NpyType::uint64:
      return store<std::uint64_t>(value, buffer);
  }
}

}  // namespace

const char* const kNpyReadableDtypes =
    "condense reads float16, float32, float64, int8 to int64 and uint8 to uint64 ('<f2', '<f4', "
    "'<f8', '|i1', '<i2', '<i4', '<i8', '|u1', '<u2', '<u4', '<u8', and the big-endian '>f2', "
    "'>f4', '>f8', '>i2', '>i4', '>i8', '>u2', '>u4', '>u8')";

bool is_float_type(NpyType type) {
  return type == NpyType::float16 || type == NpyType::float32 || type == NpyType::float64;
}

const char* npy_type_name(NpyType type) {
  return info(type).name;
}

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

double half_to_double(std::uint16_t bits) {
  const int sign = (bits >> 15) & 1, exponent = (bits >> 10) & 0x1f, mantissa = bits & 0x3ff;
  double value;
  if (exponent == 0)
    value = std::ldexp(double(mantissa), -24);  // subnormal
  else if (exponent == 31)
    value = mantissa ? std::numeric_limits<double>::quiet_NaN()
                     : std::numeric_limits<double>::infinity();
  else
    value = std::ldexp(double(mantissa | 0x400), exponent - 25);
  return sign ? -value : value;
}

std::uint16_t double_to_half(double value) {
  std::uint64_t bits;
  std::memcpy(&bits, &value, 8);
  const auto sign = std::uint16_t((bits >> 48) & 0x8000);
  const int biased = int((bits >> 52) & 0x7ff);
  const std::uint64_t fraction = bits & ((std::uint64_t{1} << 52) - 1);
  if (biased == 0x7ff) return std::uint16_t(sign | 0x7c00 | (fraction ? 0x200 : 0));
  if (biased == 0) return sign;  // double subnormals are far below half's smallest value
  const int exponent = biased - 1023;
  if (exponent > 15) return std::uint16_t(sign | 0x7c00);
  const std::uint64_t significand = fraction | (std::uint64_t{1} << 52);
  // Keep 11 significant bits for a normal half; fewer for a subnormal one (unit 2^-24).
  const int shift = exponent >= -14 ? 42 : 28 - exponent;
  if (shift > 53) return sign;  // below half the smallest subnormal
  std::uint64_t kept = significand >> shift;
  const std::uint64_t rest = significand & ((std::uint64_t{1} << shift) - 1);
  const std::uint64_t halfway = std::uint64_t{1} << (shift - 1);
  if (rest > halfway || (rest == halfway && (kept & 1))) ++kept;  // to nearest, ties to even
  if (exponent < -14) return std::uint16_t(sign | kept);          // 0x400 is the smallest normal
  int half_exponent = exponent + 15;
  if (kept == (std::uint64_t{1} << 11)) {
    kept >>= 1;
    ++half_exponent;
  }
  if (half_exponent >= 31) return std::uint16_t(sign | 0x7c00);
  return std::uint16_t(sign | (half_exponent << 10) | (kept & 0x3ff));
}

std::string npy_dtype_name(const std::string& descr) {
  if (descr.size() < 2) return "unknown";
  const std::string_view body = std::string_view(descr).substr(
      descr[0] == '<' || descr[0] == '>' || descr[0] == '|' || descr[0] == '=' ? 1 : 0);
  if (body.empty()) return "unknown";
  int size = 0;
  const auto [ptr, error] = std::from_chars(body.data() + 1, body.data() + body.size(), size);
  // Widths numpy writes are at most 16 bytes; a larger one is named without its bits (8 · size
  // overflowed an int for a width of 2·10^9, found by fuzz_npy).
  const bool sized =
      error == std::errc() && ptr == body.data() + body.size() && size > 0 && size <= 64;
  switch (body[0]) {
    case 'f':
      return sized ? "float" + std::to_string(8 * size) : "float";
    case 'i':
      return sized ? "int" + std::to_string(8 * size) : "int";
    case 'u':
      return sized ? "uint" + std::to_string(8 * size) : "uint";
    case 'c':
      return sized ? "complex" + std::to_string(8 * size) : "complex";
    case 'b':
      return "bool";
    case 'U':
      return "unicode string";
    case 'S':
      return "byte string";
    case 'O':
      return "Python object (pickled)";
    case 'V':
      return "raw bytes (void, e.g. bfloat16 or a structured type)";
    case 'M':
      return "datetime";
    case 'm':
      return "timedelta";
  }
  return "unknown";
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
    store_value(type, values[i], buffer);
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

NpyHeader parse_npy_header(std::string_view bytes, const std::string& file) {
  if (bytes.size() < 10 || bytes.substr(0, 6) != kMagic)
    fail_input("{} is not an NPY file (no \\x93NUMPY magic)", file);
  const int major = static_cast<unsigned char>(bytes[6]);
  std::size_t header_length = 0, offset = 0;
  if (major == 1) {
    header_length = static_cast<unsigned char>(bytes[8]) |
                    (std::size_t(static_cast<unsigned char>(bytes[9])) << 8);
    offset = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) fail_input("{}: truncated NPY header", file);
    for (int i = 0; i < 4; ++i)
      header_length |= std::size_t(static_cast<unsigned char>(bytes[std::size_t(8 + i)]))
                       << (8 * i);
    offset = 12;
  } else {
    fail_input("{}: NPY version {} is not supported (versions 1, 2 and 3 are)", file, major);
  }
  if (header_length > bytes.size() - offset)
    fail_input("{}: truncated NPY header: it declares {} bytes, the file has {} after the prefix",
               file, header_length, bytes.size() - offset);
  NpyHeader header = HeaderParser(bytes.substr(offset, header_length), file).parse();
  header.data_offset = offset + header_length;
  // '<' little-endian, '>' big-endian; one-byte types have no byte order: numpy writes '|'.
  const std::string& d = header.descr;
  if (d.size() == 3 && (d[0] == '<' || d[0] == '>' || d[0] == '|')) {
    header.big_endian = d[0] == '>';
    for (const TypeInfo& t : kTypes)
      if (d.compare(1, 2, t.descr + 1) == 0 && (d[0] != '|' || t.size == 1)) header.type = t.type;
  }
  return header;
}

NpyArray decode_npy(std::string_view bytes, const NpyHeader& header, const std::string& file) {
  if (!header.type)
    fail_input("{}: dtype '{}' ({}) is not supported; {}", file, header.descr,
               npy_dtype_name(header.descr), kNpyReadableDtypes);
  const NpyType type = *header.type;
  const std::size_t item = item_size(type);
  const std::size_t data_size = bytes.size() - header.data_offset;
  const std::string dtype = fmt::format("{} ('{}')", npy_dtype_name(header.descr), header.descr);
  // The byte count of the shape, computed without wrapping around 2^64 (a zero dimension makes
  // the array empty whatever the others say) and checked against the data before anything is
  // allocated.
  const bool empty = std::find(header.shape.begin(), header.shape.end(), 0) != header.shape.end();
  std::uint64_t count = empty ? 0 : 1, needed = 0;
  bool overflow = false;
  for (std::int64_t n : header.shape)
    if (!empty) overflow = overflow || __builtin_mul_overflow(count, std::uint64_t(n), &count);
  overflow = overflow || __builtin_mul_overflow(count, std::uint64_t(item), &needed);
  if (overflow)
    fail_input(
        "{}: NPY shape {} of {} needs more than 2^64 bytes; the file has {} bytes of data "
        "after its header",
        file, header.shape_text, dtype, data_size);
  if (needed != data_size) {
    if (count == 0)
      fail_input(
          "{}: NPY shape {} holds no values, but the file has {} bytes of data after its "
          "header",
          file, header.shape_text, data_size);
    fail_input("{}: NPY shape {} of {} needs {} bytes of data, the file has {}", file,
               header.shape_text, dtype, needed, data_size);
  }

  NpyArray array;
  array.type = type;
  array.shape = header.shape;
  array.values.resize(std::size_t(count));
  const char* data = bytes.data() + header.data_offset;
  if (!header.fortran_order || header.shape.size() < 2) {
    for (std::size_t i = 0; i < count; ++i)
      array.values[i] = load_value(type, data + i * item, header.big_endian);
    return array;
  }
  // Fortran order: the first index varies fastest. Walk the C-order positions with a
  // multi-index and keep its Fortran-order offset up to date.
  const std::size_t rank = header.shape.size();
  std::vector<std::size_t> index(rank, 0), stride(rank, 1);
  for (std::size_t k = 1; k < rank; ++k)
    stride[k] = stride[k - 1] * std::size_t(header.shape[k - 1]);
  std::size_t source = 0;
  for (std::size_t i = 0; i < count; ++i) {
    array.values[i] = load_value(type, data + source * item, header.big_endian);
    for (std::size_t k = rank; k-- > 0;) {
      if (++index[k] < std::size_t(header.shape[k])) {
        source += stride[k];
        break;
      }
      source -= stride[k] * (index[k] - 1);
      index[k] = 0;
    }
  }
  return array;
}

NpyArray read_npy(const std::filesystem::path& path) {
  const std::string bytes = read_file(path);
  const std::string file = path.string();
  try {
    return decode_npy(bytes, parse_npy_header(bytes, file), file);
  } catch (const std::bad_alloc&) {
    fail_input("{}: not enough memory to hold its {} bytes of data as double", file, bytes.size());
  } catch (const std::length_error& e) {
    fail_input("{}: cannot be read ({})", file, e.what());
  }
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
