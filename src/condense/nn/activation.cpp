#include "condense/nn/activation.hpp"

#include <cmath>
#include <numbers>
#include <string_view>
#include <tuple>
#include <type_traits>

#include "condense/core/error.hpp"
#include "condense/nn/activation_loops.hpp"
#include "condense/nn/fast_tanh.hpp"

namespace condense {

namespace {

// One struct per activation: its name, σ(x), and σ'(x) given x and y = σ(x); activation_loops.hpp
// says what a struct declares. To add an activation, add a struct here and list it in `Builtins`.

struct Identity {
  static constexpr std::string_view name = "identity";
  static constexpr bool kink = false;
  static constexpr bool from_output = true;  // σ' needs only y = σ(x)
  template <class T>
  static T value(T x, T) {
    return x;
  }
  template <class T>
  static T derivative(T, T, T) {
    return T(1);
  }
};

struct Tanh {
  static constexpr std::string_view name = "tanh";
  static constexpr bool kink = false;
  static constexpr bool from_output = true;
  template <class T>
  static T value(T x, T) {
    return std::tanh(x);
  }
  template <class T>
  static T derivative(T, T y, T) {
    return T(1) - y * y;
  }
};

struct Sigmoid {
  static constexpr std::string_view name = "sigmoid";
  static constexpr bool kink = false;
  static constexpr bool from_output = true;
  template <class T>
  static T value(T x, T) {
    return T(1) / (T(1) + std::exp(-x));
  }
  template <class T>
  static T derivative(T, T y, T) {
    return y * (T(1) - y);
  }
};

// PyTorch's softplus (beta 1, threshold 20): x itself above the threshold.
struct Softplus {
  static constexpr std::string_view name = "softplus";
  static constexpr bool kink = false;
  template <class T>
  static T value(T x, T) {
    return x > T(20) ? x : std::log1p(std::exp(x));
  }
  template <class T>
  static T derivative(T x, T, T) {
    if (x > T(20)) return T(1);
    const T e = std::exp(x);
    return e / (e + T(1));
  }
};

struct Relu {
  static constexpr std::string_view name = "relu";
  static constexpr bool kink = true;
  template <class T>
  static T value(T x, T) {
    return x > T(0) ? x : T(0);
  }
  template <class T>
  static T derivative(T x, T, T) {
    return x > T(0) ? T(1) : T(0);
  }
};

struct LeakyRelu {
  static constexpr std::string_view name = "leaky_relu";
  static constexpr bool kink = true;
  template <class T>
  static T value(T x, T slope) {
    return x > T(0) ? x : slope * x;
  }
  template <class T>
  static T derivative(T x, T, T slope) {
    return x > T(0) ? T(1) : slope;
  }
};

// The exact (erf) GELU: x Φ(x).
struct Gelu {
  static constexpr std::string_view name = "gelu";
  static constexpr bool kink = false;
  template <class T>
  static T value(T x, T) {
    return T(0.5) * x * (T(1) + std::erf(x * T(std::numbers::sqrt2 / 2)));
  }
  template <class T>
  static T derivative(T x, T, T) {
    const T cdf = T(0.5) * (T(1) + std::erf(x * T(std::numbers::sqrt2 / 2)));
    const T pdf =
        std::exp(T(-0.5) * x * x) * T(0.5 * std::numbers::inv_sqrtpi * std::numbers::sqrt2);
    return cdf + x * pdf;
  }
};

// SiLU (swish): x σ(x).
struct Silu {
  static constexpr std::string_view name = "silu";
  static constexpr bool kink = false;
  template <class T>
  static T value(T x, T) {
    return x / (T(1) + std::exp(-x));
  }
  template <class T>
  static T derivative(T x, T, T) {
    const T s = T(1) / (T(1) + std::exp(-x));
    return s * (T(1) + x * (T(1) - s));
  }
};

// x·tanh(x): multiplicity 2 (Zhou et al. 2022).
struct XTanh {
  static constexpr std::string_view name = "xtanh";
  static constexpr bool kink = false;
  template <class T>
  static T value(T x, T) {
    return x * std::tanh(x);
  }
  template <class T>
  static T derivative(T x, T, T) {
    const T t = std::tanh(x);
    return t + x * (T(1) - t * t);
  }
};

// x²·tanh(x): multiplicity 3.
struct X2Tanh {
  static constexpr std::string_view name = "x2tanh";
  static constexpr bool kink = false;
  template <class T>
  static T value(T x, T) {
    return x * x * std::tanh(x);
  }
  template <class T>
  static T derivative(T x, T, T) {
    const T t = std::tanh(x);
    return T(2) * x * t + x * x * (T(1) - t * t);
  }
};

using Builtins =
    std::tuple<Identity, Tanh, Sigmoid, Softplus, Relu, LeakyRelu, Gelu, Silu, XTanh, X2Tanh>;
constexpr int kBuiltinCount = std::tuple_size_v<Builtins>;

// Calls visit(Act{}) for the activation at `index`, with Act a compile-time type so that the
// element loops below are compiled once per activation and inlined.
template <class Visitor>
decltype(auto) dispatch(int index, Visitor&& visit) {
  return [&]<std::size_t... I>(std::index_sequence<I...>)->decltype(auto) {
    using Result = decltype(visit(std::tuple_element_t<0, Builtins>{}));
    if constexpr (std::is_void_v<Result>) {
      ((int(I) == index ? (visit(std::tuple_element_t<I, Builtins>{}), true) : false) || ...);
    } else {
      Result result{};
      ((int(I) == index ? (result = visit(std::tuple_element_t<I, Builtins>{}), true) : false) ||
       ...);
      return result;
    }
  }
  (std::make_index_sequence<kBuiltinCount>{});
}

std::string_view builtin_name(int index) {
  return dispatch(index, [](auto act) { return decltype(act)::name; });
}

}  // namespace

std::string Activation::name() const {
  std::string text(builtin_name(index));
  if (text == LeakyRelu::name && parameter != 0.01) text += fmt::format(":{}", parameter);
  return text;
}

bool Activation::derivative_from_output() const {
  return dispatch(
      index, [](auto act) { return activation_loops::derivative_from_output<decltype(act)>(); });
}

bool Activation::has_kink() const {
  return dispatch(index, [](auto act) { return decltype(act)::kink; });
}

double Activation::value(double x) const {
  return dispatch(index, [&](auto act) { return decltype(act)::value(x, parameter); });
}

double Activation::derivative(double x) const {
  return dispatch(index, [&](auto act) {
    using Act = decltype(act);
    return Act::derivative(x, Act::value(x, parameter), parameter);
  });
}

std::vector<std::string> activation_names() {
  std::vector<std::string> names;
  for (int i = 0; i < kBuiltinCount; ++i) names.emplace_back(builtin_name(i));
  return names;
}

Activation parse_activation(const std::string& text) {
  const auto colon = text.find(':');
  const std::string name = text.substr(0, colon);
  for (int i = 0; i < kBuiltinCount; ++i) {
    if (builtin_name(i) != name) continue;
    Activation activation{i, 0.0};
    if (name == LeakyRelu::name) {
      activation.parameter = 0.01;
      if (colon != std::string::npos) {
        const std::string slope = text.substr(colon + 1);
        char* end = nullptr;
        activation.parameter = std::strtod(slope.c_str(), &end);
        if (slope.empty() || *end != '\0' || !std::isfinite(activation.parameter))
          fail_input("activation \"{}\": the slope \"{}\" is not a number (write leaky_relu:0.1)",
                     text, slope);
      }
    } else if (colon != std::string::npos) {
      fail_input("activation \"{}\": only leaky_relu takes a parameter", text);
    }
    return activation;
  }
  std::string known;
  for (const auto& n : activation_names()) known += (known.empty() ? "" : ", ") + n;
  fail_input("activation \"{}\" is not known; expected one of {}", text, known);
}

template <class T>
void activation_forward(const Activation& activation, const T* z, T* h, std::size_t n) {
  const T p = T(activation.parameter);
  dispatch(activation.index, [&](auto act) {
    using Act = decltype(act);
    // std::tanh does not vectorize and dominated the two-layer CNN's step.
    if constexpr (std::is_same_v<Act, Tanh>) {
      tanh_array(z, h, n);
    } else {
#pragma omp simd
      for (std::size_t i = 0; i < n; ++i) h[i] = Act::value(z[i], p);
    }
  });
}

template <class T>
void activation_backward(const Activation& activation, const T* z, const T* h, const T* dh, T* dz,
                         std::size_t n) {
  const T p = T(activation.parameter);
  dispatch(activation.index,
           [&](auto act) { activation_loops::backward<decltype(act)>(z, h, dh, dz, n, p); });
}

template <class T>
void activation_backward_readout(const Activation& activation, const T* z, const T* h, const T* a,
                                 T g, T* dz, T* dA, bool first, std::size_t n) {
  const T p = T(activation.parameter);
  dispatch(activation.index, [&](auto act) {
    activation_loops::backward_readout<decltype(act)>(z, h, a, g, dz, dA, first, n, p);
  });
}

template void activation_backward_readout<float>(const Activation&, const float*, const float*,
                                                 const float*, float, float*, float*, bool,
                                                 std::size_t);
template void activation_backward_readout<double>(const Activation&, const double*, const double*,
                                                  const double*, double, double*, double*, bool,
                                                  std::size_t);
template void activation_forward<float>(const Activation&, const float*, float*, std::size_t);
template void activation_forward<double>(const Activation&, const double*, double*, std::size_t);
template void activation_backward<float>(const Activation&, const float*, const float*,
                                         const float*, float*, std::size_t);
template void activation_backward<double>(const Activation&, const double*, const double*,
                                          const double*, double*, std::size_t);

}  // namespace condense
