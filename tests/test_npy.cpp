// NPY files (core/npy.hpp): round trips for every dtype and rank, the header numpy itself
// writes, and the errors for files that are not NPY, truncated, or of another dtype.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
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

TEST_F(Npy, UnsupportedDtypes) {
  const std::vector<std::int32_t> ints = {1, 2, 3};
  write_raw(path("i4.npy"), numpy_file("{'descr': '<i4', 'fortran_order': False, 'shape': (3,), }",
                                       raw_bytes(ints)));
  EXPECT_THAT(read_error(path("i4.npy")),
              AllOf(HasSubstr(path("i4.npy").string()), HasSubstr("'<i4'"), HasSubstr("'<f8'")));
  const std::vector<double> doubles = {1, 2, 3};
  write_raw(path("big.npy"), numpy_file("{'descr': '>f8', 'fortran_order': False, 'shape': (3,), }",
                                        raw_bytes(doubles)));
  EXPECT_THAT(read_error(path("big.npy")), HasSubstr("'>f8'"));
}

TEST_F(Npy, FortranOrderIsRejected) {
  const std::vector<double> doubles = {1, 2, 3, 4};
  write_raw(path("f.npy"), numpy_file("{'descr': '<f8', 'fortran_order': True, 'shape': (2, 2), }",
                                      raw_bytes(doubles)));
  EXPECT_THAT(read_error(path("f.npy")), HasSubstr("Fortran"));
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
