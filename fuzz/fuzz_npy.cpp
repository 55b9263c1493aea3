// NPY files (analyze --weights, snapshots, the npy dataset): the header parser and the decoder.
#include "condense/core/npy.hpp"
#include "fuzz_target.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return condense::fuzz::run_reader(data, size, [](std::string_view bytes) {
    const condense::NpyHeader header = condense::parse_npy_header(bytes, "fuzz.npy");
    condense::decode_npy(bytes, header, "fuzz.npy");
  });
}
