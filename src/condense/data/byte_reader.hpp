#pragma once
// Checked sequential reading of a data file that may or may not be gzipped (zlib reads plain files
// through unchanged). Every short read becomes an InputError naming the path, the offset and what
// was being read, so a truncated download is reported as such rather than as garbage pixels.
#include <cstdint>
#include <filesystem>
#include <string_view>

namespace condense {

class ByteReader {
 public:
  // Throws IoError naming the path if the file cannot be opened.
  explicit ByteReader(const std::filesystem::path& path);
  ~ByteReader();
  ByteReader(const ByteReader&) = delete;
  ByteReader& operator=(const ByteReader&) = delete;

  // Reads exactly `count` bytes of (uncompressed) content; `what` names them in the error.
  void read(void* out, std::size_t count, std::string_view what);
  // Moves forward `count` bytes without checking they exist (the next read or expect_length does).
  void skip(std::uint64_t count);
  // Checks that the uncompressed content is exactly `length` bytes, from wherever the reader is.
  // Plain files: their size. Gzip files: the length stored in the gzip trailer, so the stream is
  // not decompressed to the end; only when the trailer disagrees (a truncated or multi-member file)
  // is the rest decompressed to find out.
  void expect_length(std::uint64_t length, std::string_view what);

  std::uint64_t offset() const { return offset_; }
  const std::filesystem::path& path() const { return path_; }

 private:
  // Reads up to `count` bytes; fewer only at the end of the content. Corrupt gzip data throws.
  std::size_t read_some(void* out, std::size_t count, std::string_view what);
  bool compressed();
  std::uint64_t count_to_end(std::string_view what);

  std::filesystem::path path_;
  void* file_ = nullptr;  // gzFile; kept opaque so that zlib.h stays out of the header
  std::uint64_t offset_ = 0;
};

}  // namespace condense
