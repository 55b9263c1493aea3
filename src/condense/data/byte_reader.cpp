#include "condense/data/byte_reader.hpp"

#include <zlib.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <fstream>
#include <vector>

#include "condense/core/error.hpp"

namespace condense {

namespace fs = std::filesystem;

namespace {

gzFile as_gz(void* file) {
  return static_cast<gzFile>(file);
}

// The last four bytes of a gzip member: the uncompressed length modulo 2^32 (RFC 1952, ISIZE).
bool read_gzip_trailer_length(const fs::path& path, std::uint32_t& length) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  in.seekg(-4, std::ios::end);
  unsigned char bytes[4];
  if (!in.read(reinterpret_cast<char*>(bytes), 4)) return false;
  length = std::uint32_t(bytes[0]) | std::uint32_t(bytes[1]) << 8 | std::uint32_t(bytes[2]) << 16 |
           std::uint32_t(bytes[3]) << 24;
  return true;
}

}  // namespace

ByteReader::ByteReader(const fs::path& path) : path_(path) {
  file_ = gzopen(path.c_str(), "rb");
  if (file_ == nullptr) fail_io("cannot read {}: {}", path.string(), std::strerror(errno));
  gzbuffer(as_gz(file_), 1 << 17);
}

ByteReader::~ByteReader() {
  if (file_ != nullptr) gzclose_r(as_gz(file_));
}

bool ByteReader::compressed() {
  return gzdirect(as_gz(file_)) == 0;
}

std::size_t ByteReader::read_some(void* out, std::size_t count, std::string_view what) {
  auto* bytes = static_cast<unsigned char*>(out);
  std::size_t done = 0;
  while (done < count) {
    const unsigned chunk = unsigned(std::min<std::size_t>(count - done, INT_MAX));
    const int got = gzread(as_gz(file_), bytes + done, chunk);
    if (got < 0) {
      int code = Z_OK;
      const char* message = gzerror(as_gz(file_), &code);
      if (code == Z_ERRNO) fail_io("cannot read {}: {}", path_.string(), std::strerror(errno));
      fail_input("{} is not valid gzip data (zlib: {}) while reading {} at byte {}", path_.string(),
                 message, what, offset_ + done);
    }
    done += std::size_t(got);
    if (got == 0) break;
  }
  offset_ += done;
  return done;
}

void ByteReader::read(void* out, std::size_t count, std::string_view what) {
  const std::uint64_t start = offset_;
  const std::size_t got = read_some(out, count, what);
  if (got == count) return;
  int code = Z_OK;
  gzerror(as_gz(file_), &code);
  const char* end = !compressed()         ? "the file ends"
                    : code == Z_BUF_ERROR ? "the gzip stream is cut off"
                                          : "the uncompressed data ends";
  fail_input("{} is truncated: {} bytes of {} were expected at byte {}, but {} after {} bytes",
             path_.string(), count, what, start, end, start + got);
}

void ByteReader::skip(std::uint64_t count) {
  if (count == 0) return;
  if (gzseek(as_gz(file_), z_off_t(count), SEEK_CUR) < 0) {
    int code = Z_OK;
    const char* message = gzerror(as_gz(file_), &code);
    fail_io("cannot read {}: seeking to byte {} failed ({})", path_.string(), offset_ + count,
            message);
  }
  offset_ += count;
}

std::uint64_t ByteReader::count_to_end(std::string_view what) {
  std::vector<unsigned char> scratch(1 << 20);
  std::uint64_t total = 0;
  for (;;) {
    const std::size_t got = read_some(scratch.data(), scratch.size(), what);
    total += got;
    if (got < scratch.size()) return total;
  }
}

void ByteReader::expect_length(std::uint64_t length, std::string_view what) {
  if (!compressed()) {
    std::error_code error;
    const std::uint64_t size = fs::file_size(path_, error);
    if (error) fail_io("cannot read {}: {}", path_.string(), error.message());
    if (size < length)
      fail_input("{} is truncated: it has {} bytes, but {} take {} bytes", path_.string(), size,
                 what, length);
    if (size > length)
      fail_input(
          "{} has {} bytes, but {} take exactly {} bytes: it is not the file its header "
          "describes",
          path_.string(), size, what, length);
    return;
  }
  std::uint32_t trailer = 0;
  if (read_gzip_trailer_length(path_, trailer) && trailer == std::uint32_t(length)) return;
  // The trailer disagrees: decompress the rest to tell a truncated stream from a multi-member one.
  const std::uint64_t total = offset_ + count_to_end(what);
  int code = Z_OK;
  gzerror(as_gz(file_), &code);
  if (code == Z_BUF_ERROR)
    fail_input("{} is truncated: its gzip stream is cut off after {} bytes, but {} take {} bytes",
               path_.string(), total, what, length);
  if (total != length)
    fail_input("{} holds {} bytes once decompressed, but {} take exactly {} bytes", path_.string(),
               total, what, length);
}

}  // namespace condense
