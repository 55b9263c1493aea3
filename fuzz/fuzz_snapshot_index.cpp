// RUN/snapshots/index.csv as analyze, reports and resumes read it: failing on damage, and
// stopping at it.
#include "condense/rundir/snapshot_index.hpp"
#include "fuzz_target.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return condense::fuzz::run_reader(data, size, [](std::string_view bytes) {
    const auto snapshots = condense::fuzz::scratch().fresh() / "snapshots";
    condense::fuzz::write_bytes(snapshots / "index.csv", bytes);
    std::string damage;
    condense::read_snapshot_index(snapshots, condense::CsvDamage::stop, &damage);
    condense::read_snapshot_index(snapshots, condense::CsvDamage::fail);
  });
}
