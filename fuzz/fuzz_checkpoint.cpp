// RUN/checkpoint/state.bin as `train --resume` reads it: the step alone (read_checkpoint_step),
// then the whole state into a model of as many parameters as the file says (at most 65536), in
// float and double, with Adam (two state vectors), SGD with momentum (one) and plain GD (none).
// Each input is read as it is, which reaches the checksum, and once more with its last 4 bytes
// replaced by the CRC-32 of the rest, so that mutations get past the checksum to the fields behind.
#include <zlib.h>

#include <cstring>

#include "condense/train/checkpoint.hpp"
#include "fuzz_target.hpp"

namespace {

constexpr std::size_t kCountOffset = 40;  // magic, version, scalar size, steps, seconds
constexpr std::uint64_t kMaxParameters = 1 << 16;

template <class T>
void load(const std::filesystem::path& path, std::size_t parameter_count,
          condense::OptimizerKind kind) {
  condense::ParameterStore<T> parameters;
  parameters.add("fc1", false, {std::int64_t(parameter_count)}, 1, 1);
  parameters.allocate();
  condense::OptimizerSpec spec;
  spec.kind = kind;
  spec.momentum = kind == condense::OptimizerKind::sgd ? 0.9 : 0.0;  // one state vector
  condense::Optimizer<T> optimizer(spec, parameter_count);
  condense::load_checkpoint(path, parameters, optimizer);
}

void read_all(const std::uint8_t* data, std::size_t size) {
  using condense::OptimizerKind;
  condense::fuzz::run_reader(data, size, [](std::string_view bytes) {
    const auto path = condense::fuzz::scratch().fresh() / "checkpoint" / "state.bin";
    condense::fuzz::write_bytes(path, bytes);
    condense::read_checkpoint_step(path);
  });
  std::uint64_t count = 1;
  if (size >= kCountOffset + 8) std::memcpy(&count, data + kCountOffset, 8);
  if (count < 1 || count > kMaxParameters) count = 1;
  for (OptimizerKind kind : {OptimizerKind::adam, OptimizerKind::sgd, OptimizerKind::gd}) {
    condense::fuzz::run_reader(data, size, [&](std::string_view bytes) {
      const auto path = condense::fuzz::scratch().fresh() / "checkpoint" / "state.bin";
      condense::fuzz::write_bytes(path, bytes);
      load<float>(path, count, kind);
    });
    condense::fuzz::run_reader(data, size, [&](std::string_view bytes) {
      const auto path = condense::fuzz::scratch().fresh() / "checkpoint" / "state.bin";
      condense::fuzz::write_bytes(path, bytes);
      load<double>(path, count, kind);
    });
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  read_all(data, size);
  if (size < 16) return 0;
  std::vector<std::uint8_t> sealed(data, data + size);
  const auto crc = std::uint32_t(crc32_z(crc32_z(0, nullptr, 0), sealed.data(), size - 4));
  if (std::memcmp(&crc, sealed.data() + size - 4, 4) == 0) return 0;
  std::memcpy(sealed.data() + size - 4, &crc, 4);
  read_all(sealed.data(), size);
  return 0;
}
