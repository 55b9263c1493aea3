// NPY files (core/npy.hpp): round trips for every dtype and rank, the header numpy itself
// writes, and the errors for files that are not NPY, truncated, or of another dtype.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "condense/core/atomic_file.hpp"
#include "condense/core/error.hpp"
#include "condense/core/npy.hpp"

namespace condense {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

class Npy : public ::testing::Test {
 protected:
  void SetUp() override {
    directory_ = std::filesystem::temp_directory_path() /
                 ("condense_test_npy_" + std::to_string(::getpid()) + "_" +
                  ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(directory_);
    make_directories(directory_);
  }
  void TearDown() override { std::filesystem::remove_all(directory_); }

  std::filesystem::path path(const std::string& name) const { return directory_ / name; }

  // Writes raw bytes, for files condense would never write.
  void write_raw(const std::filesystem::path& file, const std::string& bytes) const {
    std::ofstream out(file, std::ios::binary);
    out.write(bytes.data(), std::streamsize(bytes.size()));
    ASSERT_TRUE(out.good()) << file;
  }

  std::string read_error(const std::filesystem::path& file) const {
    try {
      read_npy(file);
    } catch (const InputError& error) {
      return error.what();
    }
    ADD_FAILURE() << file << " was read";
    return "";
  }

  std::filesystem::path directory_;
};

// A version 1.0 NPY file as numpy.save writes it: the header padded with spaces to a multiple of
// 64 bytes (numpy's ARRAY_ALIGN) and ended by a newline.
std::string numpy_file(const std::string& dict, const std::string& data, char major = 1) {
  const std::size_t prefix = major == 1 ? 10 : 12;
  std::string header = dict;
  header.append((64 - (prefix + header.size() + 1) % 64) % 64, ' ');
  header += '\n';
  std::string bytes = "\x93NUMPY";
  bytes += major;
  bytes += '\0';
  for (std::size_t i = 0; i < prefix - 8; ++i) bytes += char((header.size() >> (8 * i)) & 0xff);
  return bytes + header + data;
}

template <class T>
std::string raw_bytes(const std::vector<T>& values) {
  return std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T));
}

// ---- Round trips ----------------------------------------------------------------------------

TEST_F(Npy, Float64RoundTripIsExact) {
  const std::vector<double> values = {0.1,
                                      -0.0,
                                      1e-310,
                                      std::numeric_limits<double>::max(),
                                      -std::numeric_limits<double>::infinity(),
                                      3.0};
  write_npy(path("a.npy"), values.data(), {2, 3});
  const NpyArray array = read_npy(path("a.npy"));
  EXPECT_EQ(array.type, NpyType::float64);
  EXPECT_EQ(array.shape, (std::vector<std::int64_t>{2, 3}));
  EXPECT_EQ(array.size(), 6);
  ASSERT_EQ(array.values.size(), values.size());
  EXPECT_EQ(std::memcmp(array.values.data(), values.data(), values.size() * sizeof(double)), 0);
}

TEST_F(Npy, NanSurvives) {
  const std::vector<double> values = {std::numeric_limits<double>::quiet_NaN()};
  write_npy(path("nan.npy"), values.data(), {1});
  EXPECT_TRUE(std::isnan(read_npy(path("nan.npy")).values.at(0)));
}

TEST_F(Npy, Float32RoundTrip) {
  const std::vector<float> values = {0.1f, -2.5f, 1e-40f, 3.0e38f};
  write_npy(path("f.npy"), values.data(), {4});
  const NpyArray array = read_npy(path("f.npy"));
  EXPECT_EQ(array.type, NpyType::float32);
  EXPECT_EQ(array.shape, (std::vector<std::int64_t>{4}));
  for (std::size_t i = 0; i < values.size(); ++i) EXPECT_EQ(float(array.values[i]), values[i]);
  // A 128-byte header, as numpy's: 10 + 57 + 1 bytes do not fit in 64.
  EXPECT_EQ(std::filesystem::file_size(path("f.npy")), 128 + 4 * sizeof(float));
}

TEST_F(Npy, DoublesStoredAsFloat32AreRounded) {
  const std::vector<double> values = {0.1, 1.0 / 3.0};
  write_npy(path("r.npy"), values.data(), {2}, NpyType::float32);
  const NpyArray array = read_npy(path("r.npy"));
  EXPECT_EQ(array.type, NpyType::float32);
  EXPECT_EQ(array.values[0], double(0.1f));
  EXPECT_EQ(array.values[1], double(float(1.0 / 3.0)));
}

TEST_F(Npy, Int64RoundTrip) {
  const std::vector<std::int64_t> values = {0, -1, 7, std::int64_t{1} << 53,
                                            -(std::int64_t{1} << 40)};
  write_npy(path("i.npy"), values.data(), {5});
  const NpyArray array = read_npy(path("i.npy"));
  EXPECT_EQ(array.type, NpyType::int64);
  for (std::size_t i = 0; i < values.size(); ++i) EXPECT_EQ(array.values[i], double(values[i]));
}

TEST_F(Npy, ZeroDimensionalArray) {
  const double value = 2.75;
  write_npy(path("s.npy"), &value, {});
  const NpyArray array = read_npy(path("s.npy"));
  EXPECT_TRUE(array.shape.empty());
  EXPECT_EQ(array.size(), 1);
  ASSERT_EQ(array.values.size(), 1u);
  EXPECT_EQ(array.values[0], 2.75);
  EXPECT_THAT(read_file(path("s.npy")), HasSubstr("'shape': (), }"));
}

TEST_F(Npy, FourDimensionalArray) {
  std::vector<double> values(2 * 3 * 4 * 5);
  for (std::size_t i = 0; i < values.size(); ++i) values[i] = double(i) / 7;
  write_npy(path("w.npy"), values.data(), {2, 3, 4, 5});
  const NpyArray array = read_npy(path("w.npy"));
  EXPECT_EQ(array.shape, (std::vector<std::int64_t>{2, 3, 4, 5}));
  EXPECT_EQ(array.values, values);
}

TEST_F(Npy, EmptyArray) {
  write_npy<double>(path("e.npy"), nullptr, {0, 3});
  const NpyArray array = read_npy(path("e.npy"));
  EXPECT_EQ(array.shape, (std::vector<std::int64_t>{0, 3}));
  EXPECT_TRUE(array.values.empty());
}

// ---- The header numpy writes ----------------------------------------------------------------

TEST_F(Npy, FileIsByteForByteWhatNumpySaveWrites) {
  // numpy.save("a.npy", numpy.arange(6, dtype="<f8").reshape(2, 3)) writes a 128-byte header:
  // b"\x93NUMPY\x01\x00v\x00{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }" + 58
  // spaces + b"\n", then the data.
  const std::vector<double> values = {0, 1, 2, 3, 4, 5};
  write_npy(path("a.npy"), values.data(), {2, 3});
  const std::string bytes = read_file(path("a.npy"));
  const std::string expected = std::string("\x93NUMPY\x01\x00\x76\x00", 10) +
                               "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }" +
                               std::string(58, ' ') + "\n" + raw_bytes(values);
  EXPECT_EQ(bytes.size(), 128 + 6 * sizeof(double));
  EXPECT_EQ(bytes, expected);
}

TEST_F(Npy, HeadersAreAlignedTo64Bytes) {
  // Shapes whose header lengths differ, and one long enough to need a second 64-byte block.
  const std::vector<std::vector<std::int64_t>> shapes = {
      {}, {1}, {3}, {1234567}, {2, 3}, {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}};
  for (const auto& shape : shapes) {
    std::int64_t count = 1;
    for (std::int64_t d : shape) count *= d;
    const std::vector<float> values(std::size_t(count), 1.0f);
    write_npy(path("h.npy"), values.data(), shape);
    const std::string bytes = read_file(path("h.npy"));
    const std::size_t header_length = static_cast<unsigned char>(bytes[8]) |
                                      (std::size_t(static_cast<unsigned char>(bytes[9])) << 8);
    EXPECT_EQ((10 + header_length) % 64, 0u) << shape_string(shape);
    EXPECT_EQ(bytes[10 + header_length - 1], '\n') << shape_string(shape);
    EXPECT_EQ(bytes.size(), 10 + header_length + values.size() * sizeof(float));
    EXPECT_THAT(bytes.substr(10, header_length),
                HasSubstr("'shape': " + shape_string(shape) + ", }"));
  }
}

TEST(NpyShapeString, PythonTupleSyntax) {
  EXPECT_EQ(shape_string({}), "()");
  EXPECT_EQ(shape_string({5}), "(5,)");
  EXPECT_EQ(shape_string({2, 3, 4}), "(2, 3, 4)");
}

TEST_F(Npy, ReadsOtherWritersHeaders) {
  // Keys in another order, no trailing comma, and a version 2.0 file (4-byte header length).
  const std::vector<float> values = {1.5f, -2.0f, 0.25f};
  write_raw(path("order.npy"), numpy_file("{'shape': (3,), 'fortran_order': False, 'descr': '<f4'}",
                                          raw_bytes(values)));
  NpyArray array = read_npy(path("order.npy"));
  EXPECT_EQ(array.type, NpyType::float32);
  EXPECT_EQ(array.shape, (std::vector<std::int64_t>{3}));
  EXPECT_EQ(array.values, (std::vector<double>{1.5, -2.0, 0.25}));

  write_raw(path("v2.npy"),
            numpy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 3), }",
                       raw_bytes(values), 2));
  array = read_npy(path("v2.npy"));
  EXPECT_EQ(array.shape, (std::vector<std::int64_t>{1, 3}));
  EXPECT_EQ(array.values, (std::vector<double>{1.5, -2.0, 0.25}));
}

// ---- Errors ---------------------------------------------------------------------------------

TEST_F(Npy, NotAnNpyFile) {
  write_raw(path("text.npy"), "this is a text file, not an array\n");
  EXPECT_THAT(read_error(path("text.npy")),
              AllOf(HasSubstr(path("text.npy").string()), HasSubstr("not an NPY file")));
  write_raw(path("empty.npy"), "");
  EXPECT_THAT(read_error(path("empty.npy")), HasSubstr("not an NPY file"));
}

TEST_F(Npy, TruncatedData) {
  const std::vector<double> values = {1, 2, 3, 4, 5, 6};
  write_npy(path("t.npy"), values.data(), {2, 3});
  const std::string bytes = read_file(path("t.npy"));
  write_raw(path("t.npy"), bytes.substr(0, bytes.size() - 8));
  EXPECT_THAT(read_error(path("t.npy")),
              AllOf(HasSubstr(path("t.npy").string()), HasSubstr("(2, 3)"),
                    HasSubstr("needs 48 bytes"), HasSubstr("has 40")));
  // Extra bytes are as wrong as missing ones.
  write_raw(path("t.npy"), bytes + "x");
  EXPECT_THAT(read_error(path("t.npy")), HasSubstr("has 49"));
}

TEST_F(Npy, TruncatedHeader) {
  const std::vector<double> values = {1, 2};
  write_npy(path("h.npy"), values.data(), {2});
  write_raw(path("h.npy"), read_file(path("h.npy")).substr(0, 30));
  EXPECT_THAT(read_error(path("h.npy")),
              AllOf(HasSubstr(path("h.npy").string()), HasSubstr("truncated")));
}

TEST_F(Npy, UnsupportedDtypesNameTheDtypeAndTheReadableOnes) {
  write_raw(path("b1.npy"), numpy_file("{'descr': '|b1', 'fortran_order': False, 'shape': (3,), }",
                                       std::string("\x01\x00\x01", 3)));
  EXPECT_THAT(read_error(path("b1.npy")),
              AllOf(HasSubstr(path("b1.npy").string()), HasSubstr("'|b1' (bool)"),
                    HasSubstr("float16, float32, float64, int8 to int64 and uint8 to uint64"),
                    HasSubstr("'<f2'"), HasSubstr("'|u1'"), HasSubstr("'>f8'")));
  // Multi-byte types need a byte order: '|' is numpy's mark for one-byte types only.
  const std::vector<std::int32_t> ints = {1, 2, 3};
  write_raw(path("i4.npy"), numpy_file("{'descr': '|i4', 'fortran_order': False, 'shape': (3,), }",
                                       raw_bytes(ints)));
  EXPECT_THAT(read_error(path("i4.npy")), HasSubstr("'|i4' (int32) is not supported"));
  const std::vector<float> pairs = {1, 2, 3, 4};
  write_raw(path("c8.npy"), numpy_file("{'descr': '<c8', 'fortran_order': False, 'shape': (2,), }",
                                       raw_bytes(pairs)));
  EXPECT_THAT(read_error(path("c8.npy")), HasSubstr("'<c8' (complex64)"));
  write_raw(path("o.npy"),
            numpy_file("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", "\x80\x02N."));
  EXPECT_THAT(read_error(path("o.npy")), HasSubstr("Python object (pickled)"));
  write_raw(path("s.npy"), numpy_file("{'descr': [('a', '<f4'), ('b', '<f4')], 'fortran_order': "
                                      "False, 'shape': (2,), }",
                                      raw_bytes(pairs)));
  EXPECT_THAT(read_error(path("s.npy")), HasSubstr("structured dtype"));
  // A width of 2·10^9 bytes is named without its bits: 8 · width overflowed an int (found by
  // fuzz_npy; fuzz/corpus/npy/crash_dtype_width_overflow.npy).
  write_raw(path("wide.npy"),
            numpy_file("{'descr': 'i2008100810', 'fortran_order': False, 'shape': (1,), }", "x"));
  EXPECT_THAT(read_error(path("wide.npy")), HasSubstr("'i2008100810' (int) is not supported"));
}

TEST_F(Npy, IntegerTypesRoundTripAndReadFromNumpyHeaders) {
  const std::vector<double> values = {0, 1, 100, 127};
  for (NpyType type : {NpyType::int8, NpyType::int16, NpyType::int32, NpyType::int64,
                       NpyType::uint8, NpyType::uint16, NpyType::uint32, NpyType::uint64}) {
    write_npy(path("t.npy"), values.data(), {2, 2}, type);
    const NpyArray array = read_npy(path("t.npy"));
    EXPECT_EQ(array.type, type) << npy_type_name(type);
    EXPECT_FALSE(is_float_type(type));
    EXPECT_EQ(array.shape, (std::vector<std::int64_t>{2, 2}));
    EXPECT_EQ(array.values, values) << npy_type_name(type);
  }
  write_npy(path("u1.npy"), values.data(), {4}, NpyType::uint8);
  EXPECT_THAT(read_file(path("u1.npy")), HasSubstr("'descr': '|u1'"));
  // As numpy writes them: extreme values of each width, one-byte types with '|'.
  const auto read_as = [&](const std::string& descr, const std::string& bytes, std::size_t n) {
    const std::string dict = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (" +
                             std::to_string(n) + ",), }";
    write_raw(path("h.npy"), numpy_file(dict, bytes));
    return read_npy(path("h.npy")).values;
  };
  EXPECT_EQ(read_as("|i1", raw_bytes(std::vector<std::int8_t>{-128, 127}), 2),
            (std::vector<double>{-128, 127}));
  EXPECT_EQ(read_as("|u1", raw_bytes(std::vector<std::uint8_t>{0, 255}), 2),
            (std::vector<double>{0, 255}));
  EXPECT_EQ(read_as("<i2", raw_bytes(std::vector<std::int16_t>{-32768, 32767}), 2),
            (std::vector<double>{-32768, 32767}));
  EXPECT_EQ(read_as("<u2", raw_bytes(std::vector<std::uint16_t>{65535}), 1),
            (std::vector<double>{65535}));
  EXPECT_EQ(read_as("<i4", raw_bytes(std::vector<std::int32_t>{-2147483647 - 1}), 1),
            (std::vector<double>{-2147483648.0}));
  EXPECT_EQ(read_as("<u4", raw_bytes(std::vector<std::uint32_t>{4294967295u}), 1),
            (std::vector<double>{4294967295.0}));
  EXPECT_EQ(read_as("<u8", raw_bytes(std::vector<std::uint64_t>{std::uint64_t{1} << 63}), 1),
            (std::vector<double>{9223372036854775808.0}));
  // Big-endian: the bytes 01 02 are 258.
  EXPECT_EQ(read_as(">u2", std::string("\x01\x02", 2), 1), (std::vector<double>{258}));
  EXPECT_EQ(read_as(">i4", std::string("\xff\xff\xff\xfe", 4), 1), (std::vector<double>{-2}));
  // A header announcing more integers than the file holds is refused before allocating.
  write_raw(path("h.npy"), numpy_file("{'descr': '<u4', 'fortran_order': False, "
                                      "'shape': (1000000,), }",
                                      std::string(8, '\0')));
  EXPECT_THAT(read_error(path("h.npy")),
              HasSubstr("NPY shape (1000000,) of uint32 ('<u4') needs 4000000 bytes of data, the "
                        "file has 8"));
}

TEST_F(Npy, BigEndianArraysAreRead) {
  auto swapped = [](std::string bytes, std::size_t item) {
    for (std::size_t at = 0; at < bytes.size(); at += item)
      std::reverse(bytes.begin() + std::ptrdiff_t(at), bytes.begin() + std::ptrdiff_t(at + item));
    return bytes;
  };
  const std::vector<double> doubles = {1.5, -2.25, 1e-300};
  write_raw(path("f8.npy"), numpy_file("{'descr': '>f8', 'fortran_order': False, 'shape': (3,), }",
                                       swapped(raw_bytes(doubles), 8)));
  EXPECT_EQ(read_npy(path("f8.npy")).values, doubles);
  const std::vector<float> floats = {0.1f, -3.0f};
  write_raw(path("f4.npy"), numpy_file("{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }",
                                       swapped(raw_bytes(floats), 4)));
  EXPECT_EQ(read_npy(path("f4.npy")).values, (std::vector<double>{0.1f, -3.0f}));
  const std::vector<std::int64_t> ints = {-7, 1 << 20};
  write_raw(path("i8.npy"), numpy_file("{'descr': '>i8', 'fortran_order': False, 'shape': (2,), }",
                                       swapped(raw_bytes(ints), 8)));
  const NpyArray array = read_npy(path("i8.npy"));
  EXPECT_EQ(array.type, NpyType::int64);
  EXPECT_EQ(array.values, (std::vector<double>{-7, 1 << 20}));
}

TEST_F(Npy, Float16IsReadInEitherByteOrder) {
  // 1, -2, 0.5, 65504 (the largest half), 2^-24 (the smallest subnormal), -inf.
  const std::vector<std::uint16_t> bits = {0x3c00, 0xc000, 0x3800, 0x7bff, 0x0001, 0xfc00};
  const std::vector<double> expected = {
      1, -2, 0.5, 65504, std::ldexp(1.0, -24), -std::numeric_limits<double>::infinity()};
  write_raw(
      path("le.npy"),
      numpy_file("{'descr': '<f2', 'fortran_order': False, 'shape': (2, 3), }", raw_bytes(bits)));
  const NpyArray array = read_npy(path("le.npy"));
  EXPECT_EQ(array.type, NpyType::float16);
  EXPECT_EQ(array.shape, (std::vector<std::int64_t>{2, 3}));
  EXPECT_EQ(array.values, expected);
  std::vector<std::uint16_t> big;
  for (std::uint16_t b : bits) big.push_back(std::uint16_t((b >> 8) | (b << 8)));
  write_raw(path("be.npy"), numpy_file("{'descr': '>f2', 'fortran_order': False, 'shape': (6,), }",
                                       raw_bytes(big)));
  EXPECT_EQ(read_npy(path("be.npy")).values, expected);
}

TEST(NpyHalf, EveryHalfSurvivesARoundTripAndRoundingIsToNearestEven) {
  for (std::uint32_t h = 0; h < 0x10000; ++h) {
    const double value = half_to_double(std::uint16_t(h));
    if (std::isnan(value)) {
      EXPECT_TRUE(std::isnan(half_to_double(double_to_half(value)))) << h;
      continue;
    }
    ASSERT_EQ(double_to_half(value), h) << h << " = " << value;
  }
  EXPECT_EQ(double_to_half(1 + std::ldexp(1.0, -11)), 0x3c00);      // tie: to even (down)
  EXPECT_EQ(double_to_half(1 + 3 * std::ldexp(1.0, -11)), 0x3c02);  // tie: to even (up)
  EXPECT_EQ(double_to_half(1 + std::ldexp(1.0, -11) + 1e-12), 0x3c01);
  EXPECT_EQ(double_to_half(65519.99), 0x7bff);
  EXPECT_EQ(double_to_half(65520), 0x7c00);  // rounds past the largest half: inf
  EXPECT_EQ(double_to_half(-1e300), 0xfc00);
  EXPECT_EQ(double_to_half(std::ldexp(1.0, -25)), 0x0000);  // half the smallest subnormal: tie
  EXPECT_EQ(double_to_half(std::ldexp(1.0, -25) * 1.0001), 0x0001);
  EXPECT_EQ(double_to_half(std::ldexp(1023.5, -24)), 0x0400);  // up into the normals
  EXPECT_EQ(double_to_half(-0.0), 0x8000);
}

TEST_F(Npy, Float16WriteRoundTrip) {
  const std::vector<double> values = {0.1, -1.0 / 3, 1e-6, 70000};
  write_npy(path("h.npy"), values.data(), {4}, NpyType::float16);
  EXPECT_THAT(read_file(path("h.npy")), HasSubstr("'descr': '<f2'"));
  const NpyArray array = read_npy(path("h.npy"));
  EXPECT_EQ(array.type, NpyType::float16);
  for (std::size_t i = 0; i < values.size(); ++i)
    EXPECT_EQ(array.values[i], half_to_double(double_to_half(values[i]))) << i;
  EXPECT_TRUE(std::isinf(array.values[3]));
}

TEST_F(Npy, FortranOrderIsReadInCOrder) {
  // A(i, j, k) = 100 i + 10 j + k of shape (2, 3, 4), stored with i varying fastest.
  std::vector<double> fortran, c_order;
  for (int k = 0; k < 4; ++k)
    for (int j = 0; j < 3; ++j)
      for (int i = 0; i < 2; ++i) fortran.push_back(100 * i + 10 * j + k);
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 4; ++k) c_order.push_back(100 * i + 10 * j + k);
  write_raw(path("f.npy"),
            numpy_file("{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3, 4), }",
                       raw_bytes(fortran)));
  const NpyArray array = read_npy(path("f.npy"));
  EXPECT_EQ(array.shape, (std::vector<std::int64_t>{2, 3, 4}));
  EXPECT_EQ(array.values, c_order);
}

// numpy itself writes the files: every dtype and order condense reads, each next to the same
// values as little-endian float64 in C order.
TEST_F(Npy, ReadsWhatNumpyWrites) {
  const std::string script = R"(import numpy as np, sys
d = sys.argv[1]
a = np.array([[1.5, -2.0, 0.25], [3.0, 1e-3, -7.5]])
cases = {"h_le": a.astype("<f2"), "h_be": a.astype(">f2"), "f_be": a.astype(">f4"),
         "d_be": a.astype(">f8"), "fortran": np.asfortranarray(np.arange(24.0).reshape(2, 3, 4)),
         "transposed": a.astype("<f4").T, "long": np.arange(-3, 3, dtype=">i8")}
for name, x in cases.items():
    np.save(f"{d}/{name}.npy", x)
    np.save(f"{d}/{name}.ref.npy", np.ascontiguousarray(x, dtype="<f8"))
)";
  write_raw(path("write.py"), script);
  const int status = std::system(
      ("/usr/bin/python3 " + path("write.py").string() + " " + directory_.string()).c_str());
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << "/usr/bin/python3 needs numpy (Debian: python3-numpy)";
  EXPECT_THAT(read_file(path("transposed.npy")), HasSubstr("'fortran_order': True"));
  for (const char* name : {"h_le", "h_be", "f_be", "d_be", "fortran", "transposed", "long"}) {
    const NpyArray array = read_npy(path(std::string(name) + ".npy"));
    const NpyArray reference = read_npy(path(std::string(name) + ".ref.npy"));
    EXPECT_EQ(array.shape, reference.shape) << name;
    EXPECT_EQ(array.values, reference.values) << name;
  }
}

// ---- Hostile headers --------------------------------------------------------------------------

TEST_F(Npy, NegativeDimensionsAreNamedAsWritten) {
  write_raw(path("n.npy"),
            numpy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (-1, -3), }",
                       std::string(12, '\0')));
  const std::string message = read_error(path("n.npy"));
  EXPECT_THAT(message, AllOf(HasSubstr(path("n.npy").string()), HasSubstr("(-1, -3)"),
                             HasSubstr("negative dimension")));
  EXPECT_THAT(message, Not(HasSubstr("needs 0 bytes")));
}

TEST_F(Npy, ShapesWhoseProductWrapsAroundAreRefused) {
  // 2^62 · 4 = 2^64 elements wrap to 0; (2^61 + 1) · 8 = 2^64 + 8 wraps to 8, and 8 float64 are
  // the 64 bytes of data the file has.
  write_raw(path("zero.npy"), numpy_file("{'descr': '<f4', 'fortran_order': False, "
                                         "'shape': (4611686018427387904, 4), }",
                                         std::string(16, '\0')));
  const std::string message = read_error(path("zero.npy"));
  EXPECT_THAT(message, AllOf(HasSubstr("zero.npy"), HasSubstr("(4611686018427387904, 4)"),
                             HasSubstr("needs more than 2^64 bytes"), HasSubstr("has 16 bytes")));
  EXPECT_THAT(message, Not(HasSubstr("needs 0 bytes")));
  write_raw(path("eight.npy"), numpy_file("{'descr': '<f8', 'fortran_order': False, "
                                          "'shape': (2305843009213693953, 8), }",
                                          std::string(64, '\0')));
  EXPECT_THAT(read_error(path("eight.npy")), AllOf(HasSubstr("(2305843009213693953, 8)"),
                                                   HasSubstr("needs more than 2^64 bytes")));
  // Larger than the file: refused before anything is allocated.
  write_raw(path("huge.npy"), numpy_file("{'descr': '<f4', 'fortran_order': False, "
                                         "'shape': (1000000, 1000000), }",
                                         std::string(16, '\0')));
  EXPECT_THAT(read_error(path("huge.npy")),
              AllOf(HasSubstr("(1000000, 1000000)"), HasSubstr("needs 4000000000000 bytes"),
                    HasSubstr("has 16")));
  write_raw(path("big.npy"), numpy_file("{'descr': '<f4', 'fortran_order': False, "
                                        "'shape': (99999999999999999999,), }",
                                        ""));
  EXPECT_THAT(read_error(path("big.npy")), HasSubstr("larger than 2^63 - 1"));
  // An empty shape with data after it.
  write_raw(path("empty.npy"),
            numpy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (0, 3), }", "abcd"));
  EXPECT_THAT(read_error(path("empty.npy")),
              AllOf(HasSubstr("(0, 3) holds no values"), HasSubstr("4 bytes")));
}

TEST_F(Npy, MalformedHeadersAreNamed) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'extra': 1, }", "'extra'"},
      {"{'descr': '<f4', 'descr': '<f8', 'fortran_order': False, 'shape': (1,), }", "twice"},
      {"{'descr': '<f4', 'shape': (1,), }", "lacks 'fortran_order'"},
      {"{'descr': '<f4', 'fortran_order': maybe, 'shape': (1,), }", "True or False"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': [1], }", "tuple"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (1.5,), }", "non-negative integers"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,), } trailing", "after the closing"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,", "closing ')'"},
      {"not a dict", "malformed NPY header"},
  };
  for (const auto& [dict, expected] : cases) {
    write_raw(path("m.npy"), numpy_file(dict, std::string(4, '\0')));
    EXPECT_THAT(read_error(path("m.npy")),
                AllOf(HasSubstr(path("m.npy").string()), HasSubstr(expected)))
        << dict;
  }
  // numpy of Python 2 wrote long integers: (1L,).
  write_raw(path("long.npy"),
            numpy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (1L,), }",
                       std::string(4, '\0')));
  EXPECT_EQ(read_npy(path("long.npy")).shape, (std::vector<std::int64_t>{1}));
}

TEST_F(Npy, UnsupportedVersion) {
  std::string bytes = numpy_file("{'descr': '<f8', 'fortran_order': False, 'shape': (0,), }", "");
  bytes[6] = 9;
  write_raw(path("v9.npy"), bytes);
  EXPECT_THAT(read_error(path("v9.npy")), HasSubstr("version 9"));
}

TEST_F(Npy, MissingFileAndUnwritablePathNameThePath) {
  try {
    read_npy(path("absent.npy"));
    ADD_FAILURE() << "a missing file was read";
  } catch (const IoError& error) {
    EXPECT_THAT(error.what(), HasSubstr(path("absent.npy").string()));
  }
  const double value = 1.0;
  try {
    write_npy(path("no/such/dir/x.npy"), &value, {1});
    ADD_FAILURE() << "a file was written into a missing directory";
  } catch (const IoError& error) {
    EXPECT_THAT(error.what(), HasSubstr("no/such/dir/x.npy"));
  }
}

}  // namespace
}  // namespace condense
