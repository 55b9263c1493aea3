#pragma once
// Weight initialization, per layer. Every tensor draws from its own seeded stream
// (Rng::stream(seed, tensor index)), so the same seed gives bit-identical weights whatever the
// thread count, the dtype (draws are in double, then rounded) or the per-layer overrides of
// other layers.
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "condense/nn/parameters.hpp"

namespace condense {

enum class InitScheme { normal, uniform, xavier_normal, xavier_uniform, kaiming_normal,
                        kaiming_uniform, zeros };

const char* init_scheme_name(InitScheme scheme);
InitScheme parse_init_scheme(const std::string& name);  // "normal", "xavier-uniform", ...

struct InitSpec {
  InitScheme scheme = InitScheme::normal;
  // normal / uniform: the standard deviation, either given or fan_in^(−gamma) (the phase-diagram
  // coordinate of Luo et al. 2021). uniform draws from U(−√3·std, √3·std), of that same std.
  std::optional<double> std;
  std::optional<double> gamma;
  // Which fan gamma counts: the inputs of a unit (fan_in, the default) or the units of the layer
  // (fan_out). Luo et al.'s width scaling of both layers of a two-layer net, β = m^(−γ/2), is
  // gamma = γ/2 with fan_out for the hidden layer and fan_in for the readout.
  bool gamma_fan_out = false;

  // The standard deviation the scheme gives a tensor of this fan-in and fan-out.
  double standard_deviation(int fan_in, int fan_out) const;
  std::string describe() const;
};

struct InitConfig {
  InitSpec all;
  std::map<std::string, InitSpec> layers;  // overrides by layer name: "conv1", "fc2"
};

// Fills the store's values. Weights follow their layer's scheme. Biases follow it too for normal
// and uniform (the small-initialization experiments draw every parameter from N(0, σ²)); for the
// Xavier and Kaiming schemes, biases are zero, their usual companion.
template <class T>
void initialize(ParameterStore<T>& store, const InitConfig& config, std::uint64_t seed);

}  // namespace condense
