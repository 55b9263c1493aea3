// RUN/cosines/step_<k>/<layer>.npy and <layer>.order.npy as the report's heatmaps read them
// (load_cosines): the input is the matrix file, then, after the separator of fuzz_target.hpp, the
// order file (none without a separator). load_cosines turns every exception into a note, so what
// this target finds are crashes, sanitizer reports, hangs and memory.
#include "condense/report/run_data.hpp"
#include "condense/rundir/layout.hpp"
#include "fuzz_target.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return condense::fuzz::run_reader(data, size, [](std::string_view bytes) {
    condense::RunData run;
    run.root = condense::fuzz::scratch().fresh();
    const auto folder = condense::RunDirectory{run.root}.cosines(10);
    const auto parts = condense::fuzz::split_files(bytes, 2);
    condense::fuzz::write_bytes(folder / "conv1.npy", parts[0]);
    if (bytes.find(condense::fuzz::kNextFile) != std::string_view::npos)
      condense::fuzz::write_bytes(folder / "conv1.order.npy", parts[1]);
    std::vector<std::string> notes;
    condense::load_cosines(run, 10, "conv1", &notes);
  });
}
