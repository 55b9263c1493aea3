// safetensors files (analyze --weights, the checkpoint import).
#include "condense/analysis/weight_tensors.hpp"
#include "fuzz_target.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return condense::fuzz::run_reader(data, size, [](std::string_view bytes) {
    condense::read_safetensors_bytes(bytes, "fuzz.safetensors", true);
    condense::read_safetensors_bytes(bytes, "fuzz.safetensors", false);
  });
}
