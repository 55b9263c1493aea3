// RUN/analysis.csv as reports and comparisons read it: failing on damage, and stopping at it.
#include "condense/rundir/analysis_table.hpp"
#include "fuzz_target.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return condense::fuzz::run_reader(data, size, [](std::string_view bytes) {
    const auto path = condense::fuzz::scratch().fresh() / "analysis.csv";
    condense::fuzz::write_bytes(path, bytes);
    std::string damage;
    condense::read_analysis_csv(path, condense::CsvDamage::stop, &damage);
    condense::read_analysis_csv(path, condense::CsvDamage::fail);
  });
}
