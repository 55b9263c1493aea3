// The phenomena condense exists to show (issue "Condensation analysis and the theory's
// predictions", docs/theory.md): real training runs of the two-layer CNN of docs/science.md §2.1 on
// Fashion-MNIST, their measured condensation, and the theory's prediction beside it.
#include <gtest/gtest.h>
#include <gmock/gmock.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "condense/core/atomic_file.hpp"
#include "run_condense.hpp"

namespace fs = std::filesystem;

namespace {

struct AnalysisRow {
  long step;
  double mean_abs_cos, align_v1;
  int n_lines, n_negligible;
};

// RUN/analysis.csv rows of one layer.
std::vector<AnalysisRow> read_analysis(const fs::path& run, const std::string& layer) {
  std::istringstream in(condense::read_file(run / "analysis.csv"));
  std::string line;
  std::getline(in, line);
  std::vector<std::string> header;
  {
    std::stringstream hs(line);
    for (std::string h; std::getline(hs, h, ',');) header.push_back(h);
  }
  auto column = [&](const std::string& name) {
    const auto it = std::find(header.begin(), header.end(), name);
    EXPECT_NE(it, header.end()) << "analysis.csv has no column " << name;
    return std::size_t(it - header.begin());
  };
  const std::size_t c_step = column("step"), c_layer = column("layer"),
                    c_cos = column("mean_abs_cos"), c_align = column("align_v1"),
                    c_lines = column("n_lines"), c_negligible = column("n_negligible");
  std::vector<AnalysisRow> rows;
  while (std::getline(in, line)) {
    std::vector<std::string> f;
    std::stringstream ls(line);
    for (std::string v; std::getline(ls, v, ',');) f.push_back(v);
    while (f.size() < header.size()) f.emplace_back();
    if (f[c_layer] != layer) continue;
    rows.push_back({std::stol(f[c_step]), std::stod(f[c_cos]),
                    f[c_align].empty() ? -1.0 : std::stod(f[c_align]), std::stoi(f[c_lines]),
                    std::stoi(f[c_negligible])});
  }
  return rows;
}

// step → train_loss from RUN/metrics.csv.
std::map<long, double> read_losses(const fs::path& run) {
  std::istringstream in(condense::read_file(run / "metrics.csv"));
  std::string line;
  std::getline(in, line);
  std::map<long, double> losses;
  while (std::getline(in, line)) {
    std::vector<std::string> f;
    std::stringstream ls(line);
    for (std::string v; std::getline(ls, v, ',');) f.push_back(v);
    losses[std::stol(f[0])] = std::stod(f[4]);
  }
  return losses;
}

int run_condense(const std::string& arguments, std::string* output = nullptr) {
  const condense_test::Result result = condense_test::run(arguments);
  if (output) *output = result.output;
  return result.code;
}

// The setting of docs/theory.md §8: first 500 Fashion-MNIST training images, standard
// normalization, ±1 targets (classes 0-4 positive), 16 kernels 3×3 padding 1 without bias, tanh,
// MSE, GD lr 0.005, float64, both layers initialized with the same std.
const char* kFashionCnn = R"(seed = 1
dtype = "float64"
[data]
dataset = "fashion-mnist"
train_size = 500
normalize = "standard"
target = "binary"
positive_classes = [0, 1, 2, 3, 4]
[model]
conv = [{ channels = 16, kernel = 3, stride = 1, padding = 1 }]
activation = "tanh"
bias = false
[train]
loss = "mse"
optimizer = "gd"
lr = 0.005
steps = 300
eval_every = 1
[track]
snapshots = "every:2"
)";

class Condensation : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = fs::temp_directory_path() / ("condense_condensation_" + std::to_string(::getpid()));
    fs::remove_all(root_);
    fs::create_directories(root_);
    std::ofstream(root_ / "cnn.toml") << kFashionCnn;
  }
  static void TearDownTestSuite() { fs::remove_all(root_); }

  // Trains once per setting and keeps the run for the other tests.
  static fs::path train(const std::string& name, const std::string& overrides) {
    const fs::path run = root_ / name;
    if (fs::exists(run / "summary.json")) return run;
    std::string output;
    const int code = run_condense("train " + (root_ / "cnn.toml").string() + " --quiet --out " +
                                      run.string() + " " + overrides,
                                  &output);
    EXPECT_EQ(code, 0) << output;
    return run;
  }
  static fs::path small_init(const std::string& std) {
    return train("std_" + std, "--set init.std=" + std);
  }
  static nlohmann::json prediction(const fs::path& run) {
    return nlohmann::json::parse(condense::read_file(run / "prediction.json"));
  }
  static double predicted_steps(const fs::path& run, const std::string& scale) {
    return prediction(run)["time_scales"][scale]["steps"].get<double>();
  }
  // Measured alignment of conv1 at the snapshot nearest to `step`.
  static double alignment_at(const fs::path& run, double step) {
    const auto rows = read_analysis(run, "conv1");
    const AnalysisRow* best = &rows.front();
    for (const auto& r : rows)
      if (std::abs(r.step - step) < std::abs(best->step - step)) best = &r;
    return best->align_v1;
  }

  static inline fs::path root_;
};

}  // namespace

TEST_F(Condensation, TinyInitAlignsWithV1WithinThePredictedWindow) {
  const fs::path run = small_init("1e-8");
  const auto rows = read_analysis(run, "conv1");
  ASSERT_FALSE(rows.empty());
  const double t_lin = predicted_steps(run, "t_lin");
  // The first snapshot where every kernel lies on ±v1 to 1e-3.
  const auto aligned = std::find_if(rows.begin(), rows.end(),
                                    [](const AnalysisRow& r) { return r.align_v1 >= 0.999; });
  ASSERT_NE(aligned, rows.end()) << "alignment with v1 never reached 0.999";
  EXPECT_LE(aligned->step, t_lin) << "aligned only after the predicted end of the linear stage";
  // The kernels then lie on one line: mean |cos| ≥ 0.999, also within the window.
  const auto condensed = std::find_if(rows.begin(), rows.end(), [](const AnalysisRow& r) {
    return r.mean_abs_cos >= 0.999 && r.n_lines == 1;
  });
  ASSERT_NE(condensed, rows.end()) << "mean |cos| never reached 0.999 on one line";
  EXPECT_LE(condensed->step, t_lin);
}

TEST_F(Condensation, LargeInitDoesNotCondense) {
  const fs::path run = small_init("1e-2");
  double best = 0;
  for (const auto& r : read_analysis(run, "conv1")) best = std::max(best, r.align_v1);
  EXPECT_LT(best, 0.95) << "std 1e-2 should leave the linear stage before the kernels align";
}

TEST_F(Condensation, XavierInitKeepsKernelsApart) {
  const fs::path run = train("xavier", "--set init.scheme=xavier-normal");
  double worst = 0;
  for (const auto& r : read_analysis(run, "conv1")) worst = std::max(worst, r.mean_abs_cos);
  EXPECT_LT(worst, 0.6);
}

TEST_F(Condensation, AlignmentAtLinearEndGrowsAsInitShrinks) {
  double previous = -1;
  for (const std::string std : {"1e-2", "1e-4", "1e-6", "1e-8"}) {
    const fs::path run = small_init(std);
    const double alignment = alignment_at(run, predicted_steps(run, "t_lin"));
    EXPECT_GT(alignment, previous) << "std " << std;
    previous = alignment;
  }
}

// Measured time scales: alignment error 1 − align_v1 below δ, and the end of the linear stage as
// the first step whose training loss is 10% below its initial value (in the linear stage the
// output stays O(ε²) and the loss stays at its initial value). docs/theory.md states both rules.
TEST_F(Condensation, PredictedTimeScalesMatchMeasuredWithinFactorTwo) {
  const fs::path run = small_init("1e-8");
  const auto rows = read_analysis(run, "conv1");
  for (const auto& [scale, delta] :
       std::vector<std::pair<std::string, double>>{{"t_align_1e-2", 1e-2}, {"t_align_1e-3", 1e-3}}) {
    const double within = delta;  // a structured binding cannot be captured before C++20's clang 16
    const auto it = std::find_if(rows.begin(), rows.end(),
                                 [&](const AnalysisRow& r) { return 1 - r.align_v1 <= within; });
    ASSERT_NE(it, rows.end()) << scale;
    const double predicted = predicted_steps(run, scale);
    EXPECT_GE(double(it->step), predicted / 2) << scale;
    EXPECT_LE(double(it->step), predicted * 2) << scale;
  }
  const auto losses = read_losses(run);
  const double initial = losses.at(0);
  long measured_lin = -1;
  for (const auto& [step, loss] : losses)
    if (loss <= 0.9 * initial) {
      measured_lin = step;
      break;
    }
  ASSERT_GT(measured_lin, 0);
  const double predicted = predicted_steps(run, "t_lin");
  EXPECT_GE(double(measured_lin), predicted / 2);
  EXPECT_LE(double(measured_lin), predicted * 2);
}

TEST_F(Condensation, TrainWritesPredictionBesideMeasurement) {
  const fs::path run = small_init("1e-8");
  EXPECT_TRUE(fs::exists(run / "v1.npy"));
  EXPECT_TRUE(fs::exists(run / "predicted_alignment.csv"));
  const std::string curve = condense::read_file(run / "predicted_alignment.csv");
  EXPECT_THAT(curve, ::testing::StartsWith("step,time,predicted_alignment\n"));
}

TEST_F(Condensation, DeeperNetworkSaysNoPredictionApplies) {
  std::string output;
  const int code = run_condense(
      "train " + (root_ / "cnn.toml").string() + " --out " + (root_ / "deep").string() +
          " --set train.steps=2 --set 'model.conv=[{channels=4, kernel=3}, {channels=4, "
          "kernel=3}]'",
      &output);
  EXPECT_EQ(code, 0) << output;
  EXPECT_THAT(output, ::testing::HasSubstr("no prediction applies"));
  EXPECT_FALSE(fs::exists(root_ / "deep" / "prediction.json"));
}

// docs/science.md §3.5: FC 5-50-1 with bias on the sin data, N(0, 0.005²), full-batch Adam lr 1e-3,
// MSE: with tanh every neuron (weight and bias) lies on one line by step 100.
TEST(CondensationFc, TanhNeuronsCondenseOntoOneLine) {
  const fs::path root =
      fs::temp_directory_path() / ("condense_condensation_fc_" + std::to_string(::getpid()));
  fs::remove_all(root);
  fs::create_directories(root);
  std::ofstream(root / "fc.toml") << R"(seed = 0
dtype = "float64"
[data]
dataset = "sin"
train_size = 80
target = "regression"
sin_dim = 5
sin_amplitude = 3.5
sin_frequency = 5.0
sin_phase = 1.0
sin_low = -4.0
sin_high = 2.0
[model]
conv = []
hidden = [50]
activation = "tanh"
bias = true
[init]
std = 0.005
[train]
loss = "mse"
optimizer = "adam"
lr = 1e-3
steps = 100
[track]
with_bias = true
)";
  std::string output;
  ASSERT_EQ(run_condense("train " + (root / "fc.toml").string() + " --quiet --out " +
                         (root / "run").string(), &output), 0) << output;
  const auto rows = read_analysis(root / "run", "fc1");
  ASSERT_FALSE(rows.empty());
  const AnalysisRow& last = rows.back();
  EXPECT_EQ(last.step, 100);
  EXPECT_EQ(last.n_lines, 1);
  EXPECT_EQ(last.n_negligible, 0);
  fs::remove_all(root);
}
