#include "condense/nn/model_spec.hpp"

#include "condense/core/error.hpp"

namespace condense {

const char* pooling_name(Pooling pooling) {
  switch (pooling) {
    case Pooling::none: return "none";
    case Pooling::avg2: return "avg2";
    case Pooling::max2: return "max2";
  }
  return "";
}

Pooling parse_pooling(const std::string& name) {
  if (name == "none") return Pooling::none;
  if (name == "avg2") return Pooling::avg2;
  if (name == "max2") return Pooling::max2;
  fail_input("pool \"{}\" is not known; expected one of none, avg2, max2", name);
}

const Activation& ModelSpec::activation(int i) const {
  return activations.size() == 1 ? activations[0] : activations.at(std::size_t(i));
}

}  // namespace condense
