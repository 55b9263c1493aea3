#include "condense/nn/init.hpp"

#include <cmath>

#include "condense/core/error.hpp"
#include "condense/core/rng.hpp"

namespace condense {

namespace {

struct SchemeName {
  InitScheme scheme;
  const char* name;
};
constexpr SchemeName kSchemes[] = {
    {InitScheme::normal, "normal"},
    {InitScheme::uniform, "uniform"},
    {InitScheme::xavier_normal, "xavier-normal"},
    {InitScheme::xavier_uniform, "xavier-uniform"},
    {InitScheme::kaiming_normal, "kaiming-normal"},
    {InitScheme::kaiming_uniform, "kaiming-uniform"},
    {InitScheme::zeros, "zeros"},
};

bool is_uniform(InitScheme s) {
  return s == InitScheme::uniform || s == InitScheme::xavier_uniform ||
         s == InitScheme::kaiming_uniform;
}

}  // namespace

const char* init_scheme_name(InitScheme scheme) {
  for (const auto& s : kSchemes)
    if (s.scheme == scheme) return s.name;
  return "";
}

InitScheme parse_init_scheme(const std::string& name) {
  for (const auto& s : kSchemes)
    if (name == s.name) return s.scheme;
  std::string known;
  for (const auto& s : kSchemes) known += std::string(known.empty() ? "" : ", ") + s.name;
  fail_input("init scheme \"{}\" is not known; expected one of {}", name, known);
}

double InitSpec::standard_deviation(int fan_in, int fan_out) const {
  switch (scheme) {
    case InitScheme::normal:
    case InitScheme::uniform:
      if (gamma) return std::pow(double(gamma_fan_out ? fan_out : fan_in), -*gamma);
      if (std) return *std;
      fail_input("init scheme \"{}\" needs init.std or init.gamma", init_scheme_name(scheme));
    // PyTorch's xavier_* with gain 1 and kaiming_* with its default gain √2 (ReLU), fan_in mode.
    case InitScheme::xavier_normal:
    case InitScheme::xavier_uniform: return std::sqrt(2.0 / double(fan_in + fan_out));
    case InitScheme::kaiming_normal:
    case InitScheme::kaiming_uniform: return std::sqrt(2.0 / double(fan_in));
    case InitScheme::zeros: return 0.0;
  }
  return 0.0;
}

std::string InitSpec::describe() const {
  std::string text = init_scheme_name(scheme);
  if (scheme == InitScheme::normal || scheme == InitScheme::uniform) {
    if (gamma) text += fmt::format(" std={}^-{}", gamma_fan_out ? "fan_out" : "fan_in", *gamma);
    else if (std) text += fmt::format(" std={}", *std);
  }
  return text;
}

template <class T>
void initialize(ParameterStore<T>& store, const InitConfig& config, std::uint64_t seed) {
  for (int id = 0; id < store.count(); ++id) {
    const ParameterInfo& info = store.info(id);
    const auto override_it = config.layers.find(info.layer);
    const InitSpec& spec = override_it != config.layers.end() ? override_it->second : config.all;
    T* values = store.value(id);
    const bool plain = spec.scheme == InitScheme::normal || spec.scheme == InitScheme::uniform;
    const double std = spec.standard_deviation(info.fan_in, info.fan_out);
    if (spec.scheme == InitScheme::zeros || (info.is_bias && !plain) || std == 0.0) {
      std::fill(values, values + info.size, T(0));
      continue;
    }
    if (!std::isfinite(std) || std < 0)
      fail_input("init of {}: standard deviation {} is not a finite positive number", info.name,
                 std);
    Rng rng = Rng::stream(seed, std::uint64_t(id));
    const double bound = std * std::sqrt(3.0);
    for (std::size_t i = 0; i < info.size; ++i)
      values[i] = T(is_uniform(spec.scheme) ? rng.uniform(-bound, bound) : std * rng.normal());
  }
}

template void initialize<float>(ParameterStore<float>&, const InitConfig&, std::uint64_t);
template void initialize<double>(ParameterStore<double>&, const InitConfig&, std::uint64_t);

}  // namespace condense
