// A run config (config.toml of a run directory, a user's TOML file): parsing and resolution.
#include <string>

#include "condense/config/config.hpp"
#include "fuzz_target.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return condense::fuzz::run_reader(data, size, [](std::string_view bytes) {
    condense::load_config_text(std::string(bytes), "fuzz.toml", {});
  });
}
