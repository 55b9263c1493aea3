#pragma once
// The one finite-difference gradient checker of the test suite (docs/conventions.md, "Tests"), used
// for every layer, activation, loss and whole model.
//
// For each tensor (parameters, the layer input, or a loss's outputs) it samples up to
// `max_coordinates` coordinates (seeded) and compares the analytic derivative a with the central
// difference n = (L(θ+h) − L(θ−h)) / 2h, all in double precision, by the relative error
//     |a − n| / max(|a| + |n|, floor · scale),     scale = the tensor's largest |a| or |n|,
// so that a tensor of tiny gradients is held to the same standard as one of large gradients, and a
// coordinate whose true gradient is zero is judged against the tensor's scale, not against 0.
//
// Kinks (ReLU at 0, a max-pool window whose two largest inputs are within h) are found without
// knowing the layer: where the one-sided slopes (L(θ+h) − L(θ))/h and (L(θ) − L(θ−h))/h differ by
// more than `kink_tolerance` (relative), L is not differentiable inside [θ−h, θ+h], the central
// difference means nothing, and the coordinate is skipped and counted. On smooth functions the
// one-sided slopes differ by h·L'' only. expect_gradients_match() fails when more than
// `max_skipped_fraction` of a tensor's coordinates were skipped, so a check cannot pass by
// skipping. (A jump in L itself is not a kink and may go unseen: jumps of the same size on both
// sides leave the one-sided slopes equal. Every layer here is continuous.)
//
// The layer checker also holds backward to the conventions of nn/layer.hpp: parameter gradients
// are *added* into the store (it runs backward on a gradient buffer pre-filled with a known
// value) and the input gradient is *assigned* (it pre-fills dx with NaN).
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <numeric>
#include <string>
#include <vector>

#include "condense/core/rng.hpp"
#include "condense/nn/layer.hpp"
#include "condense/nn/model.hpp"
#include "condense/train/loss.hpp"

namespace condense::gradcheck {

struct Options {
  double step = 1e-5;            // h: round-off ~ ε·|L|/h against truncation ~ h²·L'''
  double tolerance = 1e-6;       // largest relative error allowed
  double kink_tolerance = 1e-3;  // one-sided slopes further apart than this straddle a kink
  double floor = 1e-3;           // denominator floor, as a fraction of the tensor's scale
  int max_coordinates = 48;      // sampled per tensor
  double max_skipped_fraction = 0.1;
  std::uint64_t seed = 20230517;
};

struct TensorResult {
  std::string name;
  std::size_t size = 0;
  int checked = 0;
  int skipped = 0;           // straddled a kink
  double scale = 0.0;        // largest |analytic| or |numeric| over the sampled coordinates
  double worst_error = 0.0;  // largest relative error over the checked coordinates
  std::size_t worst_index = 0;
  double worst_analytic = 0.0, worst_numeric = 0.0;
};

struct Report {
  std::vector<TensorResult> tensors;
  // Layer conventions (nn/layer.hpp); always true for loss checks.
  bool adds_parameter_gradients = true;
  bool assigns_input_gradient = true;
};

// Fills `values` with N(0, std²) draws of a seeded stream.
inline void fill_normal(double* values, std::size_t n, double std, std::uint64_t seed) {
  Rng rng(seed);
  for (std::size_t i = 0; i < n; ++i) values[i] = std * rng.normal();
}

inline std::vector<double> normal_vector(std::size_t n, double std, std::uint64_t seed) {
  std::vector<double> values(n);
  fill_normal(values.data(), n, std, seed);
  return values;
}

// Checks dL/dvalues against `analytic` on up to options.max_coordinates sampled coordinates.
// `loss` evaluates L at the current `values`; each coordinate is perturbed in place and restored
// bit for bit.
inline TensorResult check_tensor(std::string name, double* values, std::size_t size,
                                 const double* analytic, const std::function<double()>& loss,
                                 const Options& options, std::uint64_t stream) {
  TensorResult result;
  result.name = std::move(name);
  result.size = size;

  // Distinct coordinates by a partial Fisher–Yates shuffle.
  std::vector<std::size_t> order(size);
  std::iota(order.begin(), order.end(), std::size_t{0});
  const std::size_t count = std::min(size, std::size_t(std::max(options.max_coordinates, 0)));
  Rng rng = Rng::stream(options.seed, stream);
  for (std::size_t i = 0; i < count; ++i) std::swap(order[i], order[i + rng.below(size - i)]);
  order.resize(count);

  const double h = options.step;
  const double at_center = loss();
  struct Sample {
    std::size_t index;
    double forward, backward, central;
  };
  std::vector<Sample> samples;
  for (std::size_t index : order) {
    const double kept = values[index];
    values[index] = kept + h;
    const double plus = loss();
    values[index] = kept - h;
    const double minus = loss();
    values[index] = kept;
    // The step actually taken is (kept + h) − kept, which differs from h by rounding; using h is
    // exact enough at the tolerances used here.
    samples.push_back(
        {index, (plus - at_center) / h, (at_center - minus) / h, (plus - minus) / (2 * h)});
  }
  loss();  // leave the layer's caches as they were for the unperturbed values

  for (const Sample& s : samples)
    result.scale = std::max({result.scale, std::abs(analytic[s.index]), std::abs(s.central)});
  const double denominator_floor =
      std::max(options.floor * result.scale, std::numeric_limits<double>::min());
  for (const Sample& s : samples) {
    const double slope_gap =
        std::abs(s.forward - s.backward) /
        std::max(std::abs(s.forward) + std::abs(s.backward), denominator_floor);
    if (slope_gap > options.kink_tolerance) {
      ++result.skipped;
      continue;
    }
    ++result.checked;
    const double a = analytic[s.index];
    const double error =
        std::abs(a - s.central) / std::max(std::abs(a) + std::abs(s.central), denominator_floor);
    // NaN compares false: record it as the worst error so that it fails.
    if (!(error <= result.worst_error)) {
      result.worst_error = std::isnan(error) ? std::numeric_limits<double>::infinity() : error;
      result.worst_index = s.index;
      result.worst_analytic = a;
      result.worst_numeric = s.central;
    }
  }
  return result;
}

// Runs `run_backward` (which adds parameter gradients into store.grads()) twice: once on zeroed
// gradients, giving the analytic gradient, and once on gradients pre-filled with a known pattern,
// which must come out as pattern + analytic if backward adds, as nn/layer.hpp requires.
template <class Store>
std::vector<double> parameter_gradients(Store& store, const std::function<void()>& run_backward,
                                        bool& adds) {
  store.zero_grad();
  run_backward();
  std::vector<double> analytic(store.grads().data(), store.grads().data() + store.size());
  for (std::size_t i = 0; i < store.size(); ++i) store.grads()[Eigen::Index(i)] = double(i % 7) + 1;
  run_backward();
  adds = true;
  for (std::size_t i = 0; i < store.size(); ++i) {
    const double expected = double(i % 7) + 1 + analytic[i];
    if (!(std::abs(store.grads()[Eigen::Index(i)] - expected) <=
          1e-12 * (8 + std::abs(analytic[i]))))
      adds = false;
  }
  store.zero_grad();
  return analytic;
}

// Checks one layer: L = Σ y·r with a fixed random r (so dy = r), against every parameter tensor of
// `store` and against the input x: (N, in). The layer must be declared in `store`, the store
// allocated and its values set.
inline Report check_layer(Layer<double>& layer, ParameterStore<double>& store,
                          std::vector<double>& x, int N, const Options& options) {
  const std::size_t in = std::size_t(N) * std::size_t(layer.input_shape().size());
  const std::size_t out = std::size_t(N) * std::size_t(layer.output_shape().size());
  EXPECT_EQ(x.size(), in) << layer.name() << ": the input has the wrong size";
  const std::vector<double> r = normal_vector(out, 1.0, options.seed + 1);
  std::vector<double> y(out);
  layer.reserve(N);
  // A view layer (Flatten) has y = x.
  auto output = [&]() -> const double* { return layer.is_view() ? x.data() : y.data(); };
  auto loss = [&] {
    layer.forward(store, x.data(), y.data(), N, false);
    const double* f = output();
    double total = 0.0;
    for (std::size_t i = 0; i < out; ++i) total += f[i] * r[i];
    return total;
  };

  Report report;
  std::vector<double> dx(in, std::numeric_limits<double>::quiet_NaN());
  const std::vector<double> parameters = parameter_gradients(
      store,
      [&] {
        loss();
        std::fill(dx.begin(), dx.end(), std::numeric_limits<double>::quiet_NaN());
        layer.backward(store, x.data(), output(), r.data(), dx.data(), N);
      },
      report.adds_parameter_gradients);
  report.assigns_input_gradient =
      std::all_of(dx.begin(), dx.end(), [](double v) { return std::isfinite(v); });

  for (int id = 0; id < store.count(); ++id) {
    const ParameterInfo& info = store.info(id);
    report.tensors.push_back(check_tensor(info.name, store.value(id), info.size,
                                          parameters.data() + info.offset, loss, options,
                                          std::uint64_t(id)));
  }
  report.tensors.push_back(
      check_tensor(layer.name() + " input", x.data(), in, dx.data(), loss, options, 1000));
  return report;
}

// Checks a whole model under a loss: every parameter tensor (the model gives no gradient for its
// input; the layers' input gradients are checked by check_layer).
inline Report check_model(Model<double>& model, const std::vector<double>& x, int N,
                          LossKind loss_kind, const Targets<double>& targets,
                          const Options& options) {
  const int K = model.outputs();
  auto loss = [&] { return loss_value(loss_kind, model.forward(x.data(), N), targets, N, K); };
  std::vector<double> df(std::size_t(N) * K);
  Report report;
  ParameterStore<double>& store = model.parameters();
  const std::vector<double> parameters = parameter_gradients(
      store,
      [&] {
        loss_and_gradient(loss_kind, model.forward(x.data(), N), targets, N, K, df.data());
        model.backward(df.data());
      },
      report.adds_parameter_gradients);
  for (int id = 0; id < store.count(); ++id) {
    const ParameterInfo& info = store.info(id);
    report.tensors.push_back(check_tensor(info.name, store.value(id), info.size,
                                          parameters.data() + info.offset, loss, options,
                                          std::uint64_t(id)));
  }
  return report;
}

// Checks a loss's gradient dR/df with respect to the outputs f: (N, K).
inline Report check_loss(LossKind loss_kind, std::vector<double>& f, const Targets<double>& targets,
                         int N, int K, const Options& options) {
  std::vector<double> df(f.size());
  const double with_gradient = loss_and_gradient(loss_kind, f.data(), targets, N, K, df.data());
  EXPECT_EQ(with_gradient, loss_value(loss_kind, f.data(), targets, N, K))
      << "loss_and_gradient and loss_value disagree";
  Report report;
  report.tensors.push_back(check_tensor(
      std::string(loss_name(loss_kind)) + " outputs", f.data(), f.size(), df.data(),
      [&] { return loss_value(loss_kind, f.data(), targets, N, K); }, options, 0));
  return report;
}

// The assertions every check ends with.
inline void expect_gradients_match(const Report& report, const Options& options) {
  EXPECT_TRUE(report.adds_parameter_gradients)
      << "backward must add parameter gradients into the store (dW += ...), not assign them";
  EXPECT_TRUE(report.assigns_input_gradient)
      << "backward must assign every input gradient (dx = ...) whatever dx held before";
  for (const TensorResult& t : report.tensors) {
    SCOPED_TRACE(t.name);
    const int sampled = t.checked + t.skipped;
    EXPECT_GT(t.checked, 0) << "no coordinate of " << t.name << " was checked";
    EXPECT_LE(t.skipped, options.max_skipped_fraction * sampled)
        << t.skipped << " of " << sampled << " coordinates of " << t.name
        << " straddled a kink: move the inputs away from the kinks or shrink the step";
    EXPECT_GT(t.scale, 0.0) << t.name << ": every gradient is zero, the check proves nothing";
    EXPECT_LE(t.worst_error, options.tolerance) << fmt::format(
        "{}[{}]: analytic {:.10g}, numeric {:.10g}, relative error {:.3g} "
        "(scale {:.3g}, {} checked, {} skipped)",
        t.name, t.worst_index, t.worst_analytic, t.worst_numeric, t.worst_error, t.scale, t.checked,
        t.skipped);
  }
}

}  // namespace condense::gradcheck
