#include "condense/train/checkpoint.hpp"

#include <cstdint>
#include <cstring>
#include <string>

#include "condense/core/atomic_file.hpp"
#include "condense/core/error.hpp"

namespace condense {

namespace {

constexpr char kMagic[8] = {'C', 'N', 'D', 'S', 'C', 'K', 'P', 'T'};
constexpr std::uint32_t kVersion = 1;

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
    if (at_ + n > bytes_.size())
      fail_input("{} is truncated: the checkpoint ends early; it cannot be resumed",
                 path_.string());
    std::memcpy(out, bytes_.data() + at_, n);
    at_ += n;
  }

 private:
  const std::string& bytes_;
  const std::filesystem::path& path_;
  std::size_t at_ = 0;
};

}  // namespace

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
  make_directories(path.parent_path());
  // The snapshot files written since the last checkpoint reach the disk before it does.
  flush_file_system(path.parent_path());
  write_file_atomic(path, out);
}

template <class T>
CheckpointState load_checkpoint(const std::filesystem::path& path, ParameterStore<T>& parameters,
                                Optimizer<T>& optimizer) {
  if (!std::filesystem::exists(path))
    fail_input("{} is missing: this run has no checkpoint to resume from", path.string());
  const std::string bytes = read_file(path);
  Reader in(bytes, path);
  char magic[8];
  in.read(magic, 8);
  if (std::memcmp(magic, kMagic, 8) != 0)
    fail_input("{} is not a condense checkpoint (wrong magic number)", path.string());
  if (const auto version = in.get<std::uint32_t>(); version != kVersion)
    fail_input("{} has checkpoint version {}, this condense reads version {}", path.string(),
               version, kVersion);
  if (const auto size = in.get<std::uint32_t>(); size != sizeof(T))
    fail_input("{} holds float{} weights, but the run is configured for float{}", path.string(),
               size * 8, sizeof(T) * 8);
  CheckpointState state;
  state.step = long(in.get<std::int64_t>());
  const long optimizer_steps = long(in.get<std::int64_t>());
  state.elapsed_seconds = in.get<double>();
  auto read_vector = [&](Vector<T>& v, const char* what) {
    const auto n = in.get<std::uint64_t>();
    if (n != std::uint64_t(v.size()))
      fail_input("{}: the checkpoint's {} has {} values, the model needs {}", path.string(), what,
                 n, v.size());
    in.read(v.data(), std::size_t(n) * sizeof(T));
  };
  read_vector(parameters.values(), "parameters");
  read_vector(optimizer.first_moment(), "optimizer state");
  read_vector(optimizer.second_moment(), "optimizer state");
  optimizer.set_steps_taken(optimizer_steps);
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
