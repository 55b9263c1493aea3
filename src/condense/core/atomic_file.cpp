#include "condense/core/atomic_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "condense/core/error.hpp"

namespace condense {

namespace fs = std::filesystem;

void write_file_atomic(const fs::path& path, std::string_view bytes, Flush flush) {
  const fs::path temporary = path.string() + ".tmp";
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail_io("cannot write {}: {}", path.string(), std::strerror(errno));
  std::size_t written = 0;
  while (written < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + written, bytes.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int error = errno;
      ::close(fd);
      ::unlink(temporary.c_str());
      fail_io("cannot write {}: {}", path.string(), std::strerror(error));
    }
    written += std::size_t(n);
  }
  if (flush == Flush::now && ::fsync(fd) != 0 && errno != EINVAL) {
    const int error = errno;
    ::close(fd);
    ::unlink(temporary.c_str());
    fail_io("cannot write {}: {}", path.string(), std::strerror(error));
  }
  if (::close(fd) != 0) {
    const int error = errno;
    ::unlink(temporary.c_str());
    fail_io("cannot write {}: {}", path.string(), std::strerror(error));
  }
  if (::rename(temporary.c_str(), path.c_str()) != 0) {
    const int error = errno;
    ::unlink(temporary.c_str());
    fail_io("cannot write {}: {}", path.string(), std::strerror(error));
  }
}

void flush_file_system(const fs::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail_io("cannot open {}: {}", path.string(), std::strerror(errno));
  const int result = ::syncfs(fd);
  const int error = errno;
  ::close(fd);
  if (result != 0) fail_io("cannot flush {} to disk: {}", path.string(), std::strerror(error));
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail_io("cannot read {}: {}", path.string(), std::strerror(errno));
  std::ostringstream contents;
  contents << in.rdbuf();
  if (in.bad()) fail_io("cannot read {}: read error", path.string());
  return std::move(contents).str();
}

void make_directories(const fs::path& path) {
  std::error_code error;
  fs::create_directories(path, error);
  if (error) fail_io("cannot create directory {}: {}", path.string(), error.message());
}

}  // namespace condense
