// Condensation measures (analysis/): kernel sets with known answers, the cluster order, the
// weight readers and their errors, and `condense train` / `condense analyze` end to end.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>

#include "condense/analysis/measures.hpp"
#include "condense/rundir/analysis_table.hpp"
#include "condense/pipeline/run_analysis.hpp"
#include "condense/analysis/weight_tensors.hpp"
#include "condense/core/atomic_file.hpp"
#include "condense/core/error.hpp"
#include "condense/core/npy.hpp"
#include "condense/nn/parameters.hpp"
#include "run_condense.hpp"

namespace fs = std::filesystem;
using namespace condense;
using ::testing::HasSubstr;

namespace {

std::vector<double> random_vector(int d, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> normal;
  std::vector<double> v(static_cast<std::size_t>(d));
  for (auto& x : v) x = normal(rng);
  return v;
}

// Kernels β = scale_β · u: the rows of an (M, d) matrix.
std::vector<double> kernels_on(const std::vector<double>& u, const std::vector<double>& scales) {
  std::vector<double> W;
  for (double s : scales)
    for (double x : u) W.push_back(s * x);
  return W;
}

double cosine(const std::vector<double>& D, int M, int b, int c) {
  return D[std::size_t(b) * std::size_t(M) + std::size_t(c)];
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Measures on constructed kernel sets

TEST(Measures, KernelsOnOneLineGiveOneLineTwoOrientations) {
  const int d = 9;
  const std::vector<double> u = random_vector(d, 1);
  const std::vector<double> scales{1.0, -0.5, 2.0, -3.0, 0.7, 1.5};
  const int M = int(scales.size());
  const std::vector<double> W = kernels_on(u, scales);
  const KernelMeasures m = measure_kernels(W.data(), M, d, MeasureOptions{});
  EXPECT_EQ(m.n_lines, 1);
  EXPECT_EQ(m.n_orientations, 2);
  EXPECT_EQ(m.n_negligible, 0);
  EXPECT_NEAR(m.mean_abs_cos, 1.0, 1e-12);
  EXPECT_NEAR(m.effective_rank, 1.0, 1e-9);
  EXPECT_EQ(m.clusters.line_sizes, (std::vector<int>{6}));
  EXPECT_EQ(m.clusters.orientation_sizes, (std::vector<int>{4, 2}));
  for (int b = 0; b < M; ++b)
    for (int c = 0; c < M; ++c)
      EXPECT_NEAR(cosine(m.cosines, M, b, c),
                  scales[std::size_t(b)] * scales[std::size_t(c)] > 0 ? 1 : -1, 1e-12);
  // The + block (the larger orientation) first, then the − block, each by index.
  EXPECT_EQ(m.clusters.order, (std::vector<std::int64_t>{0, 2, 4, 5, 1, 3}));
}

TEST(Measures, OrthogonalKernelsAreSeparateLines) {
  const int M = 4, d = 6;
  std::vector<double> W(std::size_t(M * d), 0.0);
  for (int b = 0; b < M; ++b) W[std::size_t(b * d + b)] = b % 2 ? -2.0 : 2.0;
  const KernelMeasures m = measure_kernels(W.data(), M, d, MeasureOptions{});
  EXPECT_EQ(m.n_lines, M);
  EXPECT_EQ(m.n_orientations, M);
  EXPECT_NEAR(m.mean_abs_cos, 0.0, 1e-15);
  EXPECT_NEAR(m.effective_rank, double(M), 1e-12);
}

TEST(Measures, EffectiveRankIsExpOfSingularValueEntropy) {
  // Singular values 3 and 1: p = (3/4, 1/4).
  const std::vector<double> W{3, 0, 0, 0, 1, 0};
  const double p = 0.75, q = 0.25;
  EXPECT_NEAR(effective_rank(W.data(), 2, 3), std::exp(-p * std::log(p) - q * std::log(q)), 1e-12);
  const std::vector<double> zero(6, 0.0);
  EXPECT_TRUE(std::isnan(effective_rank(zero.data(), 2, 3)));
  const std::vector<double> diverged{1, NAN, 0, 0, 1, 0};
  EXPECT_TRUE(std::isnan(effective_rank(diverged.data(), 2, 3)));
  const KernelMeasures m = measure_kernels(diverged.data(), 2, 3, MeasureOptions{});
  EXPECT_TRUE(std::isnan(m.mean_abs_cos) || m.mean_abs_cos >= 0);  // measured without hanging
}

TEST(Measures, NegligibleKernelsAreSetAsideAndCounted) {
  const int d = 5;
  const std::vector<double> u = random_vector(d, 2), v = random_vector(d, 3);
  // Kernel 1 is tiny (1e-3 of the largest) and points along v; kernel 3 is zero.
  std::vector<double> W = kernels_on(u, {1.0, 0.0, -2.0, 0.0});
  for (int i = 0; i < d; ++i) W[std::size_t(d + i)] = 1e-3 * v[std::size_t(i)];
  MeasureOptions options;
  const KernelMeasures m = measure_kernels(W.data(), 4, d, options);
  EXPECT_EQ(m.n_negligible, 2);
  EXPECT_EQ(m.negligible, (std::vector<bool>{false, true, false, true}));
  EXPECT_EQ(m.n_lines, 1);
  EXPECT_EQ(m.n_orientations, 2);
  EXPECT_NEAR(m.mean_abs_cos, 1.0, 1e-12);  // over kernels 0 and 2 only
  EXPECT_EQ(m.clusters.line[1], -1);
  EXPECT_EQ(m.clusters.order, (std::vector<std::int64_t>{0, 2, 1, 3}));
  // A zero kernel has zero cosines, itself included.
  for (int c = 0; c < 4; ++c) EXPECT_EQ(cosine(m.cosines, 4, 3, c), 0.0);
  // With the rule off the tiny kernel counts (as its own line); the zero one never does.
  options.negligible = 0;
  const KernelMeasures all = measure_kernels(W.data(), 4, d, options);
  EXPECT_EQ(all.n_negligible, 1);
  EXPECT_EQ(all.n_lines, 2);
}

TEST(Measures, ClustersAreConnectedComponents) {
  // a·b and b·c are above the threshold, a·c is not: single linkage puts all three together.
  const double angle = std::acos(0.96);
  const std::vector<double> W{
      1, 0, std::cos(angle), std::sin(angle), std::cos(2 * angle), std::sin(2 * angle)};
  const KernelMeasures m = measure_kernels(W.data(), 3, 2, MeasureOptions{});
  EXPECT_LT(cosine(m.cosines, 3, 0, 2), 0.95);
  EXPECT_EQ(m.n_orientations, 1);
  EXPECT_EQ(m.n_lines, 1);
}

TEST(Measures, ClusterOrderPutsClustersInBlocks) {
  const int d = 7;
  const std::vector<double> a = random_vector(d, 4), b = random_vector(d, 5),
                            c = random_vector(d, 6);
  // Kernel: direction and scale, shuffled: line a has 3 (+) and 2 (−), line b 2 (+), c one,
  // and one negligible kernel.
  const std::vector<std::pair<const std::vector<double>*, double>> plan{
      {&b, 1.0}, {&a, -1.0}, {&c, 1.0},  {&a, 2.0}, {&a, 1e-5},
      {&b, 3.0}, {&a, 0.5},  {&a, -4.0}, {&a, 1.0}};
  std::vector<double> W;
  for (const auto& [u, s] : plan)
    for (double x : *u) W.push_back(s * x);
  const int M = int(plan.size());
  const KernelMeasures m = measure_kernels(W.data(), M, d, MeasureOptions{});
  EXPECT_EQ(m.n_lines, 3);
  EXPECT_EQ(m.n_orientations, 4);
  EXPECT_EQ(m.n_negligible, 1);
  EXPECT_EQ(m.clusters.line_sizes, (std::vector<int>{5, 2, 1}));
  EXPECT_EQ(m.clusters.orientation_sizes, (std::vector<int>{3, 2, 2, 1}));
  EXPECT_EQ(m.clusters.order, (std::vector<std::int64_t>{3, 6, 8, 1, 7, 0, 5, 2, 4}));
  // Along the order line ids never decrease, and orientation ids change only between blocks:
  // each cluster is one contiguous run. Negligible kernels come last.
  std::set<int> orientations_seen;
  for (int i = 0; i + 1 < M; ++i) {
    const auto here = std::size_t(m.clusters.order[std::size_t(i)]);
    if (i > 0) {
      const auto prev = std::size_t(m.clusters.order[std::size_t(i - 1)]);
      EXPECT_LE(m.clusters.line[prev], m.clusters.line[here]);
      if (m.clusters.orientation[prev] == m.clusters.orientation[here]) continue;
    }
    EXPECT_TRUE(orientations_seen.insert(m.clusters.orientation[here]).second);
  }
  EXPECT_EQ(m.clusters.line[std::size_t(m.clusters.order.back())], -1);
}

TEST(Measures, RelativeDistanceOverWeightAndBias) {
  LayerWeights initial{"fc1", {2, 2}, {1, 0, 0, 1}, {0, 0}};
  LayerWeights now{"fc1", {2, 2}, {2, 0, 0, 1}, {1, 0}};
  const LayerMeasures m = measure_layer(now, &initial, MeasureOptions{}, nullptr);
  // |θ − θ0| = |(1, 0, 0, 0, 1, 0)| = √2, |θ0| = √2.
  EXPECT_NEAR(m.rd, 1.0, 1e-15);
  EXPECT_NEAR(m.norm, std::sqrt(4.0 + 1.0 + 1.0), 1e-15);
  EXPECT_TRUE(std::isnan(measure_layer(now, nullptr, MeasureOptions{}, nullptr).rd));
  EXPECT_TRUE(std::isnan(m.kernels.align));
}

TEST(Measures, WithBiasAppendsAColumn) {
  LayerWeights layer{"fc1", {2, 2}, {1, 0, 1, 0}, {1, -1}};
  MeasureOptions options;
  EXPECT_EQ(measure_layer(layer, nullptr, options, nullptr).kernels.n_lines, 1);
  options.with_bias = true;
  const LayerMeasures m = measure_layer(layer, nullptr, options, nullptr);
  EXPECT_EQ(m.kernels.kernel_size, 3);
  EXPECT_NEAR(cosine(m.kernels.cosines, 2, 0, 1), 0.0, 1e-15);
  EXPECT_EQ(m.kernels.n_lines, 2);
}

TEST(Measures, AlignmentWithADirection) {
  const int d = 4;
  const std::vector<double> v{1, 1, 0, 0};
  // Kernels: +v, −2v, and one orthogonal to v; |cos| = 1, 1, 0.
  const std::vector<double> W{1, 1, 0, 0, -2, -2, 0, 0, 0, 0, 3, 0};
  const KernelMeasures m = measure_kernels(W.data(), 3, d, MeasureOptions{}, v.data());
  EXPECT_NEAR(m.align, 2.0 / 3.0, 1e-15);
  EXPECT_NEAR(m.align_min, 0.0, 1e-15);
  // The weight part alone, or with the bias component appended when the bias is analysed.
  LayerWeights layer{"conv1", {3, 1, 2, 2}, W, {0.5, 0.5, 0.5}};
  std::string why;
  EXPECT_EQ(direction_for_layer({v, 9.0}, layer, false, &why), v);
  EXPECT_EQ(direction_for_layer({v, 9.0}, layer, true, &why), (std::vector<double>{1, 1, 0, 0, 9}));
  EXPECT_TRUE(direction_for_layer({v, std::nullopt}, layer, true, &why).empty());
  EXPECT_THAT(why, HasSubstr("no bias component"));
  EXPECT_TRUE(direction_for_layer({{1, 1, 0}, std::nullopt}, layer, false, &why).empty());
  EXPECT_THAT(why, HasSubstr("the direction has 3 weight components, but conv1's kernels have 4"));
}

TEST(Measures, SingleKernelLayerIsMeasured) {
  const std::vector<double> W{0.3, -0.2};
  const KernelMeasures m = measure_kernels(W.data(), 1, 2, MeasureOptions{});
  EXPECT_EQ(m.n_lines, 1);
  EXPECT_EQ(m.n_orientations, 1);
  EXPECT_TRUE(std::isnan(m.mean_abs_cos));  // no pair
  EXPECT_NEAR(m.effective_rank, 1.0, 1e-15);
}

TEST(RunAnalysis, MeasuresEveryLayerAndKeepsRowsBeforeAStep) {
  ParameterStore<float> store;
  store.add("conv1", false, {3, 1, 2, 2}, 4, 12);
  store.add("conv1", true, {3}, 4, 12);
  store.add("fc1", false, {1, 12}, 12, 1);
  store.allocate();
  for (std::size_t i = 0; i < store.size(); ++i) store.values()[Eigen::Index(i)] = float(i % 5) - 2;
  const auto layers = layer_weights(store);
  ASSERT_EQ(layers.size(), 2u);
  EXPECT_EQ(layers[0].layer, "conv1");
  EXPECT_EQ(layers[0].bias.size(), 3u);
  EXPECT_EQ(layers[1].kernel_size(), 12);

  RunAnalysis analysis{MeasureOptions{}};
  analysis.set_direction({{1, 0, 0, 0}, std::nullopt});
  analysis.measure(0, layers);
  analysis.measure(5, layers);
  analysis.measure(9, layers);
  ASSERT_EQ(analysis.rows().size(), 6u);
  EXPECT_EQ(analysis.rows()[0].rd, 0.0);
  EXPECT_TRUE(std::isfinite(analysis.rows()[0].align_v1));  // conv1 gets the direction
  EXPECT_TRUE(std::isnan(analysis.rows()[1].align_v1));     // fc1 does not
  analysis.measure(5, layers);                              // a resumed run measures 5 again
  EXPECT_EQ(analysis.rows().size(), 4u);
  EXPECT_EQ(analysis.rows().back().step, 5);

  // analysis.csv: header, round trip, empty fields for NaN.
  const std::string csv = analysis.csv();
  EXPECT_EQ(csv.substr(0, csv.find('\n')),
            "step,layer,mean_abs_cos,n_orientations,n_lines,n_negligible,effective_rank,norm,rd,"
            "align_v1,align_v1_min");
  const fs::path path =
      fs::temp_directory_path() / ("condense_analysis_" + std::to_string(getpid()) + ".csv");
  write_file_atomic(path, csv);
  EXPECT_EQ(analysis_csv(read_analysis_csv(path)), csv);
  fs::remove(path);
  EXPECT_THAT(csv, HasSubstr(",,\n"));  // fc1: no alignment
}

// ---------------------------------------------------------------------------------------------
// Weight readers

namespace {

class WeightsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("condense_analysis_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // A safetensors file from a header and raw data.
  fs::path safetensors(const std::string& name, const nlohmann::json& header,
                       const std::string& data) {
    const std::string text = header.dump();
    std::string bytes(8, '\0');
    for (int i = 0; i < 8; ++i) bytes[std::size_t(i)] = char((text.size() >> (8 * i)) & 0xff);
    bytes += text + data;
    const fs::path path = dir_ / name;
    write_file_atomic(path, bytes);
    return path;
  }

  template <class V>
  static std::string raw(const std::vector<V>& values) {
    return std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(V));
  }

  std::string error_of(const std::function<void()>& action) {
    try {
      action();
    } catch (const InputError& e) {
      return e.what();
    }
    return "no error";
  }

  fs::path dir_;
};

}  // namespace

TEST_F(WeightsTest, SafetensorsReadsEveryFloatType) {
  const std::vector<float> conv{1, 2, 3, 4, 5, 6, 7, 8};  // (2, 1, 2, 2)
  const std::vector<double> linear{0.5, -0.25};           // (1, 2)
  const std::vector<std::uint16_t> half{0x3c00, 0xc000};  // 1, −2
  const std::vector<std::uint16_t> bf16{0x3f80, 0x4040};  // 1, 3
  std::string data = raw(conv) + raw(linear);
  const std::size_t a = conv.size() * 4, b = a + linear.size() * 8;
  data += raw(half) + raw(bf16);
  nlohmann::json header = {
      {"__metadata__", {{"format", "pt"}}},
      {"conv1.weight", {{"dtype", "F32"}, {"shape", {2, 1, 2, 2}}, {"data_offsets", {0, a}}}},
      {"fc.weight", {{"dtype", "F64"}, {"shape", {1, 2}}, {"data_offsets", {a, b}}}},
      {"conv1.bias", {{"dtype", "F16"}, {"shape", {2}}, {"data_offsets", {b, b + 4}}}},
      {"h.weight", {{"dtype", "BF16"}, {"shape", {2, 1}}, {"data_offsets", {b + 4, b + 8}}}}};
  const WeightTensors t = read_safetensors(safetensors("w.safetensors", header, data), false);
  ASSERT_EQ(t.tensors.size(), 4u);
  EXPECT_EQ(t.tensors[0].name, "conv1.weight");  // in data order
  EXPECT_EQ(t.tensors[1].values, (std::vector<double>{0.5, -0.25}));
  EXPECT_EQ(t.tensors[2].values, (std::vector<double>{1, -2}));
  EXPECT_EQ(t.tensors[3].values, (std::vector<double>{1, 3}));
  const auto layers = group_layers(t.tensors, false, nullptr);
  ASSERT_EQ(layers.size(), 3u);
  EXPECT_EQ(layers[0].layer, "conv1");
  EXPECT_EQ(layers[0].bias, (std::vector<double>{1, -2}));
  EXPECT_EQ(layers[1].layer, "fc");
  EXPECT_EQ(layers[2].kernel_size(), 1);
}

TEST_F(WeightsTest, SafetensorsErrorsNameFileAndTensor) {
  const std::vector<float> four{1, 2, 3, 4};
  auto file = [&](const nlohmann::json& header, const std::string& data) {
    return safetensors("bad.safetensors", header, data);
  };
  // Shorter than the header length.
  write_file_atomic(dir_ / "tiny.safetensors", std::string("\x05\x00\x00", 3));
  EXPECT_THAT(error_of([&] { read_safetensors(dir_ / "tiny.safetensors", false); }),
              HasSubstr("truncated"));
  write_file_atomic(dir_ / "short.safetensors",
                    std::string("\xff\x00\x00\x00\x00\x00\x00\x00{}", 10));
  EXPECT_THAT(error_of([&] { read_safetensors(dir_ / "short.safetensors", false); }),
              HasSubstr("header length is 255 bytes, but only 2 bytes follow"));
  write_file_atomic(dir_ / "json.safetensors",
                    std::string("\x03\x00\x00\x00\x00\x00\x00\x00{x}", 11));
  EXPECT_THAT(error_of([&] { read_safetensors(dir_ / "json.safetensors", false); }),
              HasSubstr("not valid JSON"));

  nlohmann::json header = {{"w", {{"dtype", "I64"}, {"shape", {2}}, {"data_offsets", {0, 16}}}}};
  std::string message = error_of([&] { read_safetensors(file(header, raw(four)), false); });
  EXPECT_THAT(message, HasSubstr("bad.safetensors: tensor w has dtype I64"));
  EXPECT_THAT(message, HasSubstr("F32, F64, F16, BF16"));
  EXPECT_EQ(read_safetensors(file(header, raw(four)), true).skipped.size(), 1u);

  header = {{"w", {{"dtype", "F32"}, {"shape", {2, 2}}, {"data_offsets", {0, 32}}}}};
  message = error_of([&] { read_safetensors(file(header, raw(four)), false); });
  EXPECT_THAT(message, HasSubstr("tensor w: data_offsets [0, 32] lie outside the 16 bytes"));

  header = {{"w", {{"dtype", "F32"}, {"shape", {2, 3}}, {"data_offsets", {0, 16}}}}};
  message = error_of([&] { read_safetensors(file(header, raw(four)), false); });
  EXPECT_THAT(message, HasSubstr("tensor w: shape (2, 3) of F32 needs 24 bytes"));

  header = {{"w", {{"dtype", "F32"}, {"shape", {4}}, {"data_offsets", {0, -16}}}}};
  EXPECT_THAT(error_of([&] { read_safetensors(file(header, raw(four)), false); }),
              HasSubstr("data_offsets"));
}

TEST_F(WeightsTest, UnsupportedShapesSayWhatIsAccepted) {
  auto tensor = [](const std::string& name, std::vector<std::int64_t> shape) {
    std::int64_t n = 1;
    for (auto s : shape) n *= s;
    return NamedTensor{name, shape, std::vector<double>(std::size_t(n), 1.0), "model.safetensors"};
  };
  for (const auto& shape :
       std::vector<std::vector<std::int64_t>>{{3}, {2, 3, 4}, {1, 2, 3, 4, 5}}) {
    const std::string message =
        error_of([&] { group_layers({tensor("x.weight", shape)}, false, nullptr); });
    EXPECT_THAT(message,
                HasSubstr("model.safetensors: tensor x.weight has shape " + shape_string(shape)));
    EXPECT_THAT(message, HasSubstr("conv weights (out, in, kh, kw), linear weights (out, in)"));
  }
  EXPECT_THAT(error_of([&] { group_layers({tensor("fc.bias", {3})}, false, nullptr); }),
              HasSubstr("no fc.weight beside it"));
  EXPECT_THAT(error_of([&] {
                group_layers({tensor("fc.weight", {3, 2}), tensor("fc.bias", {2})}, false, nullptr);
              }),
              HasSubstr("fc.bias has shape (2,), but fc.weight has shape (3, 2)"));
  EXPECT_THAT(error_of([&] {
                group_layers({tensor("bn.weight", {3}), tensor("bn.bias", {3})}, false, nullptr);
              }),
              HasSubstr("tensor bn.weight has shape (3,) (1-D)"));
  std::vector<std::string> skipped;
  const auto layers =
      group_layers({tensor("bn.running_mean", {4}), tensor("fc.weight", {3, 2}),
                    tensor("fc.bias", {3}), tensor("bn.weight", {4}), tensor("bn.bias", {4})},
                   true, &skipped);
  ASSERT_EQ(layers.size(), 1u);
  EXPECT_EQ(layers[0].bias.size(), 3u);
  ASSERT_EQ(skipped.size(), 3u);
  EXPECT_THAT(skipped[2], HasSubstr("which is neither a conv nor a linear weight"));
}

TEST_F(WeightsTest, NpyDirectoryInNaturalOrder) {
  const std::vector<double> w(8, 1.0), b(2, 0.5);
  write_npy(dir_ / "conv10.weight.npy", w.data(), {2, 1, 2, 2});
  write_npy(dir_ / "conv2.weight.npy", w.data(), {2, 4});
  write_npy(dir_ / "conv2.bias.npy", b.data(), {2});
  write_file_atomic(dir_ / "notes.txt", "not a tensor");
  const auto layers = group_layers(read_weight_tensors(dir_, false).tensors, false, nullptr);
  ASSERT_EQ(layers.size(), 2u);
  EXPECT_EQ(layers[0].layer, "conv2");
  EXPECT_EQ(layers[0].bias, b);
  EXPECT_EQ(layers[1].layer, "conv10");
  // One file.
  const auto one = read_weight_tensors(dir_ / "conv10.weight.npy", false);
  ASSERT_EQ(one.tensors.size(), 1u);
  EXPECT_EQ(one.tensors[0].name, "conv10.weight");
  // int64 is not a weight.
  const std::vector<std::int64_t> steps{1, 2};
  write_npy(dir_ / "steps.npy", steps.data(), {2});
  EXPECT_THAT(error_of([&] { read_weight_tensors(dir_ / "steps.npy", false); }),
              HasSubstr("steps.npy: tensor steps is int64"));
  EXPECT_TRUE(natural_less("conv2", "conv10"));
  EXPECT_TRUE(natural_less("conv10", "fc1"));
  EXPECT_FALSE(natural_less("fc1", "fc1"));
}

// ---------------------------------------------------------------------------------------------
// End to end: condense train writes analysis.csv; condense analyze reproduces it.

namespace {

using condense_test::Result;
using condense_test::run;

const char* kTinyConfig = R"(seed = 5
dtype = "float32"
threads = 1

[data]
dataset = "gaussian"
gaussian_shape = [1, 6, 6]
train_size = 32
test_size = 8
target = "binary"
positive_classes = [0]

[model]
conv = [{ channels = 6, kernel = 3, padding = 1 }]
activation = "tanh"

[init]
std = 0.001

[train]
optimizer = "gd"
lr = 0.5
steps = 40
)";

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

}  // namespace

TEST_F(WeightsTest, TrainWritesAnalysisAndAnalyzeReproducesIt) {
  const fs::path config = dir_ / "tiny.toml";
  write_file_atomic(config, kTinyConfig);
  const fs::path out = dir_ / "run";
  Result r = run("train " + config.string() + " --quiet --out " + out.string());
  ASSERT_EQ(r.code, 0) << r.output;

  const std::string csv = read_file(out / "analysis.csv");
  const auto lines = lines_of(csv);
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines[0],
            "step,layer,mean_abs_cos,n_orientations,n_lines,n_negligible,effective_rank,norm,rd,"
            "align_v1,align_v1_min");
  const auto snapshots = lines_of(read_file(out / "snapshots/index.csv"));
  EXPECT_EQ(lines.size() - 1, 2 * (snapshots.size() - 1));  // conv1 and fc1 at every snapshot
  EXPECT_THAT(csv, HasSubstr("\n0,conv1,"));
  EXPECT_THAT(csv, HasSubstr("\n40,fc1,"));
  const NpyArray cosines = read_npy(out / "cosines/step_40/conv1.npy");
  EXPECT_EQ(cosines.shape, (std::vector<std::int64_t>{6, 6}));
  EXPECT_EQ(read_npy(out / "cosines/step_40/conv1.order.npy").type, NpyType::int64);
  const auto clusters = nlohmann::json::parse(read_file(out / "cosines/step_40/clusters.json"));
  EXPECT_EQ(clusters["conv1"]["order"].size(), 6u);
  EXPECT_EQ(clusters["fc1"]["kernels"], 1);
  const auto rows = read_analysis_csv(out / "analysis.csv");
  EXPECT_EQ(rows[0].rd, 0.0);
  EXPECT_GT(rows.back().rd, 0.0);

  // Analyze again: the same bytes.
  const std::string cosine_bytes = read_file(out / "cosines/step_40/conv1.npy");
  fs::remove(out / "analysis.csv");
  fs::remove_all(out / "cosines");
  r = run("analyze " + out.string());
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("conv1"));
  EXPECT_EQ(read_file(out / "analysis.csv"), csv);
  EXPECT_EQ(read_file(out / "cosines/step_40/conv1.npy"), cosine_bytes);

  // Other settings change the rows; a predicted direction fills the alignment of conv1.
  const std::vector<double> v1 = random_vector(9, 7);
  write_npy(out / "v1.npy", v1.data(), {9});
  r = run("analyze " + out.string() + " --threshold 0.5 --negligible 0.2");
  ASSERT_EQ(r.code, 0) << r.output;
  const auto aligned = read_analysis_csv(out / "analysis.csv");
  EXPECT_TRUE(std::isfinite(aligned[0].align_v1));
  EXPECT_TRUE(std::isnan(aligned[1].align_v1));
  const AnalysisRow& last_conv = aligned[aligned.size() - 2];
  ASSERT_EQ(last_conv.layer, "conv1");
  EXPECT_LE(last_conv.align_v1_min, last_conv.align_v1 + 1e-15);
  EXPECT_GT(last_conv.align_v1_min, 0.0);

  EXPECT_EQ(run("analyze " + out.string() + " --threshold 1.5").code, 2);
  EXPECT_EQ(run("analyze " + (dir_ / "nothing").string()).code, 2);
}

TEST_F(WeightsTest, ResumedRunKeepsEarlierRowsAndMatchesUninterrupted) {
  const fs::path config = dir_ / "tiny.toml";
  write_file_atomic(config, kTinyConfig);
  ASSERT_EQ(run("train " + config.string() + " --quiet --out " + (dir_ / "full").string()).code, 0);
  ASSERT_EQ(run("train " + config.string() + " --quiet --set train.steps=17 --out " +
                (dir_ / "part").string())
                .code,
            0);
  const Result r =
      run("train --quiet --resume " + (dir_ / "part").string() + " --set train.steps=40");
  ASSERT_EQ(r.code, 0) << r.output;
  // Step 17 ended the first part; it is no snapshot of the 40-step schedule and its row goes.
  EXPECT_EQ(read_file(dir_ / "part/analysis.csv"), read_file(dir_ / "full/analysis.csv"));
}

TEST_F(WeightsTest, AnalyzeWeightsFilePrintsTableAndJson) {
  const std::vector<double> u = random_vector(4, 8);
  const std::vector<double> conv = kernels_on(u, {1, -1, 2, 0.5});  // (4, 1, 2, 2): one line
  const std::vector<float> conv32(conv.begin(), conv.end());
  const std::vector<float> fc{1, 0, 0, 1, 1, 1};  // (3, 2)
  const std::size_t a = conv32.size() * 4;
  const nlohmann::json header = {
      {"conv.weight", {{"dtype", "F32"}, {"shape", {4, 1, 2, 2}}, {"data_offsets", {0, a}}}},
      {"fc.weight", {{"dtype", "F32"}, {"shape", {3, 2}}, {"data_offsets", {a, a + 24}}}}};
  const fs::path file = safetensors("model.safetensors", header, raw(conv32) + raw(fc));
  Result r = run("analyze --weights " + file.string() + " --out " + (dir_ / "m.json").string());
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("conv"));
  EXPECT_THAT(r.output, HasSubstr("(4, 1, 2, 2)"));
  const auto json = nlohmann::json::parse(read_file(dir_ / "m.json"));
  ASSERT_EQ(json["layers"].size(), 2u);
  EXPECT_EQ(json["layers"][0]["n_lines"], 1);
  EXPECT_EQ(json["layers"][0]["n_orientations"], 2);
  EXPECT_EQ(json["layers"][1]["n_lines"], 3);

  // Bad input: exit code 2 and a message naming the file and the tensor.
  const std::vector<float> bad(6, 1.0f);
  const nlohmann::json three_d = {
      {"odd", {{"dtype", "F32"}, {"shape", {1, 2, 3}}, {"data_offsets", {0, 24}}}}};
  r = run("analyze --weights " + safetensors("odd.safetensors", three_d, raw(bad)).string());
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.output, HasSubstr("odd.safetensors: tensor odd has shape (1, 2, 3)"));
  const nlohmann::json range = {
      {"w", {{"dtype", "F32"}, {"shape", {2, 3}}, {"data_offsets", {0, 240}}}}};
  r = run("analyze --weights " + safetensors("range.safetensors", range, raw(bad)).string());
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.output, HasSubstr("range.safetensors: tensor w: data_offsets [0, 240]"));
  r = run("analyze");
  EXPECT_EQ(r.code, 2);
}
