#include "condense/core/atomic_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "condense/core/error.hpp"

namespace condense {

namespace fs = std::filesystem;

namespace {

// What a path that exists but is not a regular file is, for messages.
const char* file_kind(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISFIFO(mode)) return "a FIFO (named pipe)";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

std::atomic<unsigned> g_temporary_count{0};

}  // namespace

fs::path write_target(const fs::path& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return path;
    fail_io("cannot write {}: {}", path.string(), std::strerror(errno));
  }
  if (S_ISREG(st.st_mode)) return path;
  if (!S_ISLNK(st.st_mode))
    fail_io("cannot write {}: it is {}; condense writes only regular files", path.string(),
            file_kind(st.st_mode));
  char* resolved = ::realpath(path.c_str(), nullptr);
  if (!resolved)
    fail_io("cannot write {}: it is a symbolic link to {}, which cannot be followed ({})",
            path.string(), fs::read_symlink(path).string(), std::strerror(errno));
  const fs::path target = resolved;
  std::free(resolved);
  if (::stat(target.c_str(), &st) != 0 || !S_ISREG(st.st_mode))
    fail_io("cannot write {}: it is a symbolic link to {}, which is {}; condense writes only "
            "regular files",
            path.string(), target.string(), file_kind(st.st_mode));
  return target;
}

void write_file_atomic(const fs::path& path, std::string_view bytes, Flush flush) {
  const fs::path target = write_target(path);
  // A name of its own (process and count): O_EXCL then never opens what another writer made,
  // nor follows a link planted at the name.
  const fs::path temporary =
      fmt::format("{}.{}-{}.tmp", target.string(), ::getpid(), g_temporary_count++);
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                        0644);
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
  if (::rename(temporary.c_str(), target.c_str()) != 0) {
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
