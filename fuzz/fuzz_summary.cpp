// RUN/summary.json as reports, experiment and sweep tables and the reruns of a series read it.
#include "condense/rundir/summary.hpp"
#include "fuzz_target.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return condense::fuzz::run_reader(data, size, [](std::string_view bytes) {
    const auto path = condense::fuzz::scratch().fresh() / "summary.json";
    condense::fuzz::write_bytes(path, bytes);
    condense::read_summary(path);
  });
}
