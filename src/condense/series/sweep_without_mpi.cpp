// The MPI queue of series/sweep_mpi.cpp for a build without MPI: everything else of a sweep works;
// under mpirun, the sweep says how to get the MPI build.
#include <cstdlib>
#include <string>

#include "condense/core/error.hpp"
#include "condense/series/sweep.hpp"

namespace condense {

namespace {

int env_int(const char* name) {
  const char* value = std::getenv(name);
  if (!value) return 1;
  try {
    return std::stoi(value);
  } catch (const std::exception&) {
    return 1;
  }
}

}  // namespace

bool launched_by_mpi() {
  return env_int("OMPI_COMM_WORLD_SIZE") > 1 || env_int("PMI_SIZE") > 1;
}

SweepOutcome run_sweep_mpi(const Sweep&, const std::filesystem::path&, const SweepSchedule&) {
  fail_input(
      "this condense was built without MPI, so it cannot share a sweep between the ranks "
      "of mpirun: install the Debian packages libopenmpi-dev and openmpi-bin (scripts/setup.sh "
      "does) and build again; or run the sweep without mpirun, on this machine's cores, or "
      "in shards (--shard I/N, docs/sweeps.md)");
}

}  // namespace condense
