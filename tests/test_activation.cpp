// Activation functions (nn/activation.hpp): values against independent formulas, derivatives
// against finite differences, the element loops in float and double, and parsing.
//
// Adding an activation to the table in nn/activation.cpp means adding its formula to
// `independent_formulas()` below; EveryActivationHasAFormula fails until then.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <map>
#include <numbers>
#include <string>
#include <vector>

#include "condense/core/error.hpp"
#include "condense/core/rng.hpp"
#include "condense/nn/activation.hpp"
#include "condense/nn/activation_loops.hpp"
#include "condense/nn/fast_tanh.hpp"

namespace condense {
namespace {

using ::testing::HasSubstr;

// σ written differently from nn/activation.cpp, so that a slip in one shows against the other.
double sigmoid_formula(double x) {
  return 0.5 * (1.0 + std::tanh(0.5 * x));
}
double tanh_formula(double x) {
  const double e = std::expm1(-2.0 * std::abs(x));  // in (−1, 0]; no overflow for large |x|
  return std::copysign(-e / (e + 2.0), x);
}

std::map<std::string, std::function<double(double)>> independent_formulas() {
  return {
      {"identity", [](double x) { return x; }},
      {"tanh", tanh_formula},
      {"sigmoid", sigmoid_formula},
      // log(1 + e^x) without overflow; PyTorch's threshold 20 changes it by < 3e-9 · x.
      {"softplus", [](double x) { return std::max(x, 0.0) + std::log1p(std::exp(-std::abs(x))); }},
      {"relu", [](double x) { return x < 0 ? 0.0 : x; }},
      {"leaky_relu", [](double x) { return x < 0 ? 0.01 * x : x; }},
      {"leaky_relu:0.2", [](double x) { return x < 0 ? 0.2 * x : x; }},
      {"gelu", [](double x) { return 0.5 * x * std::erfc(-x / std::numbers::sqrt2); }},
      {"silu", [](double x) { return x * sigmoid_formula(x); }},
      {"xtanh", [](double x) { return x * tanh_formula(x); }},
      {"x2tanh", [](double x) { return x * x * tanh_formula(x); }},
  };
}

std::vector<std::string> names_to_test() {
  std::vector<std::string> names = activation_names();
  names.push_back("leaky_relu:0.2");
  return names;
}

std::vector<double> grid(double from, double to, double step) {
  std::vector<double> points;
  for (double x = from; x <= to + 1e-12; x += step) points.push_back(x);
  return points;
}

TEST(Activation, EveryActivationHasAFormula) {
  const auto formulas = independent_formulas();
  for (const std::string& name : activation_names())
    EXPECT_TRUE(formulas.count(name))
        << "add an independent formula for \"" << name << "\" to tests/test_activation.cpp";
}

TEST(Activation, ValuesMatchIndependentFormulas) {
  const auto formulas = independent_formulas();
  const std::vector<double> points = {-30.0, -7.5, -3.0, -1.0, -0.37, -1e-3, 0.0,
                                      1e-3,  0.25, 0.8,  1.0,  2.5,   6.0,   25.0};
  for (const std::string& name : names_to_test()) {
    const Activation activation = parse_activation(name);
    const auto& formula = formulas.at(name);
    for (double x : points) {
      const double expected = formula(x);
      EXPECT_NEAR(activation.value(x), expected, 1e-12 * std::max(1.0, std::abs(expected)))
          << name << " at " << x;
    }
  }
}

TEST(Activation, KnownValues) {
  // A few values worked out by hand, in case both formulas share a mistake.
  EXPECT_DOUBLE_EQ(parse_activation("tanh").value(std::atanh(0.5)), 0.5);
  EXPECT_DOUBLE_EQ(parse_activation("sigmoid").value(0.0), 0.5);
  EXPECT_DOUBLE_EQ(parse_activation("sigmoid").value(std::log(3.0)), 0.75);
  EXPECT_DOUBLE_EQ(parse_activation("softplus").value(0.0), std::log(2.0));
  EXPECT_EQ(parse_activation("softplus").value(30.0), 30.0);  // PyTorch's threshold 20
  EXPECT_DOUBLE_EQ(parse_activation("gelu").value(1.0), 0.8413447460685429);  // Φ(1)
  EXPECT_DOUBLE_EQ(parse_activation("silu").value(std::log(3.0)), 0.75 * std::log(3.0));
  EXPECT_DOUBLE_EQ(parse_activation("leaky_relu").value(-2.0), -0.02);
  EXPECT_DOUBLE_EQ(parse_activation("leaky_relu:0.2").value(-2.0), -0.4);
  EXPECT_EQ(parse_activation("relu").value(-2.0), 0.0);
  EXPECT_DOUBLE_EQ(parse_activation("xtanh").value(-std::atanh(0.5)), std::atanh(0.5) * 0.5);
  EXPECT_DOUBLE_EQ(parse_activation("x2tanh").value(-std::atanh(0.5)),
                   -std::atanh(0.5) * std::atanh(0.5) * 0.5);
}

TEST(Activation, DerivativesMatchFiniteDifferences) {
  const double h = 1e-6;
  for (const std::string& name : names_to_test()) {
    const Activation activation = parse_activation(name);
    int checked = 0;
    for (double x : grid(-6.0, 6.0, 0.05)) {
      if (activation.has_kink() && std::abs(x) < 2 * h) continue;
      const double numeric = (activation.value(x + h) - activation.value(x - h)) / (2 * h);
      const double analytic = activation.derivative(x);
      EXPECT_NEAR(analytic, numeric, 1e-7 * std::max(1.0, std::abs(analytic)))
          << name << " at " << x;
      ++checked;
    }
    EXPECT_GE(checked, 240) << name;
  }
}

TEST(Activation, DerivativesAtTheOrigin) {
  // docs/science.md §2.5 uses σ(0) and σ'(0); at ReLU's kink we follow PyTorch (relu'(0) = 0).
  EXPECT_EQ(parse_activation("tanh").derivative(0.0), 1.0);
  EXPECT_EQ(parse_activation("sigmoid").derivative(0.0), 0.25);
  EXPECT_EQ(parse_activation("softplus").derivative(0.0), 0.5);
  EXPECT_EQ(parse_activation("silu").derivative(0.0), 0.5);
  EXPECT_DOUBLE_EQ(parse_activation("gelu").derivative(0.0), 0.5);
  EXPECT_EQ(parse_activation("xtanh").derivative(0.0), 0.0);
  EXPECT_EQ(parse_activation("x2tanh").derivative(0.0), 0.0);
  EXPECT_EQ(parse_activation("relu").derivative(0.0), 0.0);
  EXPECT_EQ(parse_activation("leaky_relu:0.2").derivative(0.0), 0.2);
  EXPECT_EQ(parse_activation("softplus").derivative(30.0), 1.0);
}

TEST(Activation, OnlyReluFamilyHasKinks) {
  for (const std::string& name : names_to_test())
    EXPECT_EQ(parse_activation(name).has_kink(), name.rfind("relu") != std::string::npos) << name;
}

template <class T>
void check_element_loops(double tolerance) {
  const auto x = grid(-8.0, 8.0, 0.01);
  Rng rng(5);
  std::vector<T> z(x.size()), h(x.size()), dh(x.size()), dz(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) {
    z[i] = T(x[i]);
    dh[i] = T(rng.normal());
  }
  for (const std::string& name : names_to_test()) {
    const Activation activation = parse_activation(name);
    activation_forward(activation, z.data(), h.data(), z.size());
    activation_backward(activation, z.data(), h.data(), dh.data(), dz.data(), z.size());
    for (std::size_t i = 0; i < z.size(); ++i) {
      const double value = activation.value(double(z[i]));
      const double grad = double(dh[i]) * activation.derivative(double(z[i]));
      ASSERT_NEAR(double(h[i]), value, tolerance * std::max(1.0, std::abs(value)))
          << name << " at " << z[i];
      ASSERT_NEAR(double(dz[i]), grad, tolerance * std::max(1.0, std::abs(grad)))
          << name << " at " << z[i];
    }
  }
}

TEST(Activation, ElementLoopsInDouble) {
  check_element_loops<double>(1e-14);
}
TEST(Activation, ElementLoopsInFloat) {
  check_element_loops<float>(2e-6);
}

// ---- Options of an activation struct (nn/activation_loops.hpp) -------------------------------

// σ(x) = x²/2, whose σ'(x) = x cannot be told from y = σ(x) (the sign of x is lost): an
// activation like it declares from_output = false, or leaves it out.
template <bool FromOutput>
struct HalfSquare {
  static constexpr bool from_output = FromOutput;
  template <class T>
  static T value(T x, T) {
    return T(0.5) * x * x;
  }
  template <class T>
  static T derivative(T x, T, T) {
    return x;
  }
};
struct HalfSquareWithoutOption {
  template <class T>
  static T value(T x, T) {
    return T(0.5) * x * x;
  }
  template <class T>
  static T derivative(T x, T, T) {
    return x;
  }
};

// The option is read by its value: `from_output = false` must not count as declared.
static_assert(!activation_loops::derivative_from_output<HalfSquare<false>>());
static_assert(!activation_loops::derivative_from_output<HalfSquareWithoutOption>());
static_assert(activation_loops::derivative_from_output<HalfSquare<true>>());

// The backward loops give σ'(z) for an activation that declares from_output = false, not σ'(h).
template <class Act>
void check_derivative_of_z() {
  const std::vector<double> z = {-2.0, -0.5, 0.75, 3.0};
  std::vector<double> h(z.size()), a = {1.0, -2.0, 0.5, 4.0}, dh(z.size(), 1.0);
  for (std::size_t i = 0; i < z.size(); ++i) h[i] = Act::value(z[i], 0.0);
  std::vector<double> dz(z.size()), dz_readout(z.size()), dA(z.size());
  activation_loops::backward<Act>(z.data(), h.data(), dh.data(), dz.data(), z.size(), 0.0);
  const double g = 0.25;
  activation_loops::backward_readout<Act>(z.data(), h.data(), a.data(), g, dz_readout.data(),
                                          dA.data(), true, z.size(), 0.0);
  for (std::size_t i = 0; i < z.size(); ++i) {
    EXPECT_EQ(dz[i], z[i]) << "element " << i;
    EXPECT_EQ(dz_readout[i], (a[i] * g) * z[i]) << "element " << i;
    EXPECT_EQ(dA[i], g * h[i]) << "element " << i;
  }
}

TEST(ActivationOptions, FromOutputFalseDifferentiatesAtZ) {
  check_derivative_of_z<HalfSquare<false>>();
  check_derivative_of_z<HalfSquareWithoutOption>();
}

// tanh's σ' = 1 − y², a function of the output alone.
struct TanhFromOutput {
  static constexpr bool from_output = true;
  static double derivative(double, double y, double) { return 1.0 - y * y; }
};

TEST(ActivationOptions, FromOutputTrueNeedsNoZ) {
  // The loops read h only, so z may be null.
  const std::vector<double> h = {-0.5, 0.0, 0.9}, dh = {2.0, 1.0, -1.0};
  std::vector<double> dz(h.size());
  activation_loops::backward<TanhFromOutput>(static_cast<const double*>(nullptr), h.data(),
                                             dh.data(), dz.data(), h.size(), 0.0);
  for (std::size_t i = 0; i < h.size(); ++i) EXPECT_EQ(dz[i], dh[i] * (1.0 - h[i] * h[i])) << i;
}

// Every built-in that declares from_output has σ'(x) equal to its derivative given y alone.
TEST(ActivationOptions, BuiltinsThatUseTheOutputAgreeWithTheirDerivative) {
  int from_output = 0;
  for (const std::string& name : names_to_test()) {
    const Activation activation = parse_activation(name);
    if (!activation.derivative_from_output()) continue;
    ++from_output;
    for (double x : grid(-3.0, 3.0, 0.25)) {
      const double y = activation.value(x), dz_of_y = [&] {
        double dz = 0.0, dh = 1.0;
        activation_backward(activation, static_cast<const double*>(nullptr), &y, &dh, &dz, 1);
        return dz;
      }();
      EXPECT_NEAR(dz_of_y, activation.derivative(x), 1e-15) << name << " at " << x;
    }
  }
  EXPECT_EQ(from_output, 3);  // identity, tanh, sigmoid
}

// ---- The vectorized tanh ----------------------------------------------------------------------

// FNV-1a over the bytes of the values.
template <class T>
std::uint64_t bits_hash(const std::vector<T>& values) {
  std::uint64_t hash = 1469598103934665603ull;
  for (const T& v : values) {
    unsigned char bytes[sizeof(T)];
    std::memcpy(bytes, &v, sizeof(T));
    for (unsigned char b : bytes) hash = (hash ^ b) * 1099511628211ull;
  }
  return hash;
}

// The float64 tanh keeps the bits that the benchmarks' parameter hashes (docs/performance.md) and
// every earlier float64 run were computed with: the hash was taken from the four-lane code before
// it did four vectors at a time, and the scalar fallback (no AVX2) gives it too.
TEST(FastTanh, Float64KeepsItsBits) {
  std::vector<double> x;
  for (int i = -100000; i <= 100000; ++i) x.push_back(i * 2.5e-4);
  for (int e = -60; e <= 5; ++e) {
    x.push_back(std::ldexp(1.0, e));
    x.push_back(-std::ldexp(1.3, e));
  }
  std::vector<double> y(x.size());
  tanh_array(x.data(), y.data(), x.size());
  EXPECT_EQ(bits_hash(y), 0x4fc3388d522feabdull);
}

// Blocks of four vectors, single vectors and the padded tail give an element the same bits.
template <class T>
void check_tanh_position_independence() {
  Rng rng(9);
  std::vector<T> x(200);
  for (T& v : x) v = T(3.0 * rng.normal());
  x[17] = T(0);
  x[18] = -T(0);
  x[19] = std::numeric_limits<T>::quiet_NaN();
  x[20] = std::numeric_limits<T>::infinity();
  std::vector<T> whole(x.size());
  tanh_array(x.data(), whole.data(), x.size());
  for (std::size_t offset = 0; offset < 21; ++offset)
    for (std::size_t n = 1; n + offset <= 70; ++n) {
      std::vector<T> part(n);
      tanh_array(x.data() + offset, part.data(), n);
      ASSERT_EQ(std::memcmp(part.data(), whole.data() + offset, n * sizeof(T)), 0)
          << "offset " << offset << ", length " << n;
    }
  EXPECT_TRUE(std::signbit(whole[18]));
  EXPECT_TRUE(std::isnan(whole[19]));
  EXPECT_EQ(whole[20], T(1));
}

TEST(FastTanh, EveryElementGetsTheSameBitsWhereverItSitsInDouble) {
  check_tanh_position_independence<double>();
}
TEST(FastTanh, EveryElementGetsTheSameBitsWhereverItSitsInFloat) {
  check_tanh_position_independence<float>();
}

// ---- Parsing ------------------------------------------------------------------------------

std::string parse_error(const std::string& text) {
  try {
    parse_activation(text);
  } catch (const InputError& error) {
    return error.what();
  }
  ADD_FAILURE() << "\"" << text << "\" was accepted";
  return "";
}

TEST(ActivationParsing, UnknownNameListsKnownNames) {
  const std::string message = parse_error("tanhh");
  EXPECT_THAT(message, HasSubstr("\"tanhh\""));
  for (const std::string& name : activation_names()) EXPECT_THAT(message, HasSubstr(name));
  EXPECT_THAT(parse_error(""), HasSubstr("not known"));
  EXPECT_THAT(parse_error("Tanh"), HasSubstr("not known"));
}

TEST(ActivationParsing, LeakyReluSlopeMustBeANumber) {
  EXPECT_THAT(parse_error("leaky_relu:abc"), HasSubstr("\"abc\" is not a number"));
  EXPECT_THAT(parse_error("leaky_relu:"), HasSubstr("is not a number"));
  EXPECT_THAT(parse_error("leaky_relu:0.1x"), HasSubstr("is not a number"));
  EXPECT_THAT(parse_error("leaky_relu:nan"), HasSubstr("is not a number"));
  EXPECT_THAT(parse_error("leaky_relu:inf"), HasSubstr("is not a number"));
}

TEST(ActivationParsing, OnlyLeakyReluTakesAParameter) {
  EXPECT_THAT(parse_error("tanh:0.1"), HasSubstr("only leaky_relu takes a parameter"));
  EXPECT_THAT(parse_error("relu:0.1"), HasSubstr("\"relu:0.1\""));
}

TEST(ActivationParsing, NamesRoundTrip) {
  for (const std::string& name : names_to_test()) {
    const Activation activation = parse_activation(name);
    EXPECT_EQ(activation.name(), name);
    EXPECT_EQ(parse_activation(activation.name()), activation) << name;
  }
  // The default slope is written without it; other slopes keep theirs.
  EXPECT_EQ(parse_activation("leaky_relu:0.01").name(), "leaky_relu");
  EXPECT_EQ(parse_activation("leaky_relu:0.01"), parse_activation("leaky_relu"));
  EXPECT_EQ(parse_activation("leaky_relu:1e-3").name(), "leaky_relu:0.001");
  EXPECT_EQ(parse_activation("leaky_relu:0.2").parameter, 0.2);
  for (const char* text : {"leaky_relu:0.3", "leaky_relu:1e-3", "leaky_relu:0.123456789"}) {
    const Activation activation = parse_activation(text);
    EXPECT_EQ(parse_activation(activation.name()), activation) << text;
  }
}

}  // namespace
}  // namespace condense
