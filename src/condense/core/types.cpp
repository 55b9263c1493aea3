#include "condense/core/types.hpp"

#include "condense/core/error.hpp"

namespace condense {

std::string to_string(const FeatureShape& shape) {
  return fmt::format("({}, {}, {})", shape.channels, shape.height, shape.width);
}

const char* dtype_name(Dtype dtype) { return dtype == Dtype::float32 ? "float32" : "float64"; }

Dtype parse_dtype(const std::string& name) {
  if (name == "float32") return Dtype::float32;
  if (name == "float64") return Dtype::float64;
  fail_input("dtype \"{}\" is not known; expected \"float32\" or \"float64\"", name);
}

}  // namespace condense
