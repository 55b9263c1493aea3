#include "condense/train/checkpoint.hpp"

#include <cstdint>
#include <cstring>
#include <string>

#include <zlib.h>

#include <cmath>

#include "condense/core/atomic_file.hpp"
#include "condense/core/error.hpp"

namespace condense {

namespace {

constexpr char kMagic[8] = {'C', 'N', 'D', 'S', 'C', 'K', 'P', 'T'};
constexpr std::uint32_t kVersion = 2;  // 1: no checksum

template <class V>
void put(std::string& out, const V& value) {
  out.append(reinterpret_cast<const char*>(&value), sizeof(V));
}

template <class T>
void put_vector(std::string& out, const Vector<T>& v) {
  put(out, std::uint64_t(v.size()));
  out.append(reinterpret_cast<const char*>(v.data()), std::size_t(v.size()) * sizeof(T));
}

class Reader {
 public:
  Reader(const std::string& bytes, const std::filesystem::path& path) : bytes_(bytes), path_(path) {}
  template <class V>
  V get() {
    V value;
    read(&value, sizeof(V));
    return value;
  }
  void read(void* out, std::size_t n) {
    if (n == 0) return;  // an empty state vector (GD) has no data pointer to copy to
    if (n > bytes_.size() - at_)
      fail_input("{} is truncated: the checkpoint ends early; it cannot be resumed",
                 path_.string());
    std::memcpy(out, bytes_.data() + at_, n);
    at_ += n;
  }
  std::size_t remaining() const { return bytes_.size() - at_; }

 private:
  const std::string& bytes_;
  const std::filesystem::path& path_;
  std::size_t at_ = 0;
};

std::uint32_t checksum(std::string_view bytes) {
  return std::uint32_t(crc32_z(crc32_z(0, nullptr, 0),
                               reinterpret_cast<const Bytef*>(bytes.data()), bytes.size()));
}

// The file's bytes, checked whole: magic, a version this code reads, and for version 2 the
// checksum, which is then cut off. Sets *version.
std::string checked_bytes(const std::filesystem::path& path, std::uint32_t* version) {
  if (!std::filesystem::exists(path))
    fail_input("{} is missing: this run has no checkpoint to resume from", path.string());
  std::string bytes = read_file(path);
  if (bytes.size() < 12 || std::memcmp(bytes.data(), kMagic, 8) != 0)
    fail_input("{} is not a condense checkpoint (wrong magic number)", path.string());
  std::memcpy(version, bytes.data() + 8, sizeof(*version));
  if (*version != 1 && *version != kVersion)
    fail_input("{} has checkpoint version {}, this condense reads versions 1 and {}", path.string(),
               *version, kVersion);
  if (*version >= 2) {
    std::uint32_t stored = 0;
    if (bytes.size() < 8 + 4 + 4) fail_input("{} is truncated", path.string());
    std::memcpy(&stored, bytes.data() + bytes.size() - 4, 4);
    bytes.resize(bytes.size() - 4);
    if (checksum(bytes) != stored)
      fail_input("{} is damaged: its checksum does not match its content (the file was changed "
                 "or corrupted after it was written); it cannot be resumed. The snapshots and "
                 "metrics are intact: start a new run, or train this one again with --overwrite",
                 path.string());
  }
  return bytes;
}

struct Header {
  std::uint32_t scalar_size = 0;
  long step = 0, optimizer_steps = 0;
  double elapsed_seconds = 0;
};

Header read_header(Reader& in, const std::filesystem::path& path) {
  char magic_and_version[12];
  in.read(magic_and_version, 12);
  Header h;
  h.scalar_size = in.get<std::uint32_t>();
  h.step = long(in.get<std::int64_t>());
  h.optimizer_steps = long(in.get<std::int64_t>());
  h.elapsed_seconds = in.get<double>();
  if (h.scalar_size != 4 && h.scalar_size != 8)
    fail_input("{} is damaged: its scalar size is {} bytes, expected 4 or 8", path.string(),
               h.scalar_size);
  if (h.step < 0 || h.optimizer_steps < 0 || h.optimizer_steps > h.step)
    fail_input("{} is damaged: step {} with {} optimizer steps", path.string(), h.step,
               h.optimizer_steps);
  if (!(h.elapsed_seconds >= 0) || !std::isfinite(h.elapsed_seconds))
    fail_input("{} is damaged: elapsed time {}", path.string(), h.elapsed_seconds);
  return h;
}

}  // namespace

long read_checkpoint_step(const std::filesystem::path& path) {
  std::uint32_t version = 0;
  const std::string bytes = checked_bytes(path, &version);
  Reader in(bytes, path);
  return read_header(in, path).step;
}

template <class T>
void save_checkpoint(const std::filesystem::path& path, const ParameterStore<T>& parameters,
                     Optimizer<T>& optimizer, long step, double elapsed_seconds) {
  std::string out;
  out.append(kMagic, 8);
  put(out, kVersion);
  put(out, std::uint32_t(sizeof(T)));
  put(out, std::int64_t(step));
  put(out, std::int64_t(optimizer.steps_taken()));
  put(out, elapsed_seconds);
  put_vector(out, parameters.values());
  put_vector(out, optimizer.first_moment());
  put_vector(out, optimizer.second_moment());
  put(out, checksum(out));
  make_directories(path.parent_path());
  // The snapshot files written since the last checkpoint reach the disk before it does.
  flush_file_system(path.parent_path());
  write_file_atomic(path, out);
}

template <class T>
CheckpointState load_checkpoint(const std::filesystem::path& path, ParameterStore<T>& parameters,
                                Optimizer<T>& optimizer) {
  std::uint32_t version = 0;
  const std::string bytes = checked_bytes(path, &version);
  Reader in(bytes, path);
  const Header header = read_header(in, path);
  if (header.scalar_size != sizeof(T))
    fail_input("{} holds float{} weights, but the run is configured for float{}", path.string(),
               header.scalar_size * 8, sizeof(T) * 8);
  CheckpointState state;
  state.step = header.step;
  state.elapsed_seconds = header.elapsed_seconds;
  auto read_vector = [&](Vector<T>& v, const char* what) {
    const auto n = in.get<std::uint64_t>();
    if (n != std::uint64_t(v.size()))
      fail_input("{}: the checkpoint's {} has {} values, the model needs {}", path.string(), what,
                 n, v.size());
    in.read(v.data(), std::size_t(n) * sizeof(T));
    if (!v.allFinite())
      fail_input("{} is damaged: its {} hold values that are not finite numbers", path.string(),
                 what);
  };
  read_vector(parameters.values(), "parameters");
  read_vector(optimizer.first_moment(), "optimizer state");
  read_vector(optimizer.second_moment(), "optimizer state");
  if (in.remaining() != 0)
    fail_input("{} is damaged: {} bytes follow the optimizer state", path.string(), in.remaining());
  optimizer.set_steps_taken(header.optimizer_steps);
  return state;
}

template void save_checkpoint<float>(const std::filesystem::path&, const ParameterStore<float>&,
                                     Optimizer<float>&, long, double);
template void save_checkpoint<double>(const std::filesystem::path&, const ParameterStore<double>&,
                                      Optimizer<double>&, long, double);
template CheckpointState load_checkpoint<float>(const std::filesystem::path&,
                                                ParameterStore<float>&, Optimizer<float>&);
template CheckpointState load_checkpoint<double>(const std::filesystem::path&,
                                                 ParameterStore<double>&, Optimizer<double>&);

}  // namespace condense
