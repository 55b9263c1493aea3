// RUN/metrics.csv as reports, comparisons and resumes read it: failing on damage, and stopping at
// it (what a report of a damaged run shows).
#include "condense/rundir/metrics.hpp"
#include "fuzz_target.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return condense::fuzz::run_reader(data, size, [](std::string_view bytes) {
    const auto path = condense::fuzz::scratch().fresh() / "metrics.csv";
    condense::fuzz::write_bytes(path, bytes);
    std::string damage;
    condense::read_metrics(path, condense::CsvDamage::stop, &damage);
    condense::read_metrics(path, condense::CsvDamage::fail);
  });
}
