// RUN/prediction.json, as the report and the alignment measures read it.
#include <string>

#include "condense/rundir/prediction_record.hpp"
#include "fuzz_target.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return condense::fuzz::run_reader(data, size, [](std::string_view bytes) {
    condense::parse_prediction_record(std::string(bytes), "prediction.json");
  });
}
