#pragma once
// What every fuzz target of condense checks (docs/testing.md): a reader given any bytes either
// returns or throws condense's InputError or IoError, the errors a user sees as a message and exit
// code 2. Anything else (another exception, a crash, a sanitizer report, a hang, memory beyond
// libFuzzer's -rss_limit_mb) is a finding.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "condense/core/error.hpp"

namespace condense::fuzz {

template <class Read>
int run_reader(const std::uint8_t* data, std::size_t size, Read read) {
  try {
    read(std::string_view(reinterpret_cast<const char*>(data), size));
  } catch (const InputError&) {
  } catch (const IoError&) {
  }
  return 0;
}

}  // namespace condense::fuzz
