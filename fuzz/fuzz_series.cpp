// Experiment and sweep files as `condense run` and `condense sweep` read them: the TOML, the
// [experiment] or [sweep] table and every run's resolved config, with and without --quick and one
// --set, but nothing trained (load_experiment, load_sweep).
#include "condense/series/experiment.hpp"
#include "condense/series/sweep.hpp"
#include "fuzz_target.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  for (const bool quick : {false, true}) {
    condense::fuzz::run_reader(data, size, [quick](std::string_view bytes) {
      const auto path = condense::fuzz::scratch().fresh() / "experiment.toml";
      condense::fuzz::write_bytes(path, bytes);
      condense::load_experiment(path, {{"train.steps=3"}, quick});
    });
    condense::fuzz::run_reader(data, size, [quick](std::string_view bytes) {
      const auto path = condense::fuzz::scratch().fresh() / "sweep.toml";
      condense::fuzz::write_bytes(path, bytes);
      condense::load_sweep(path, {{"train.steps=3"}, quick});
    });
  }
  return 0;
}
