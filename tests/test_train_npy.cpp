// `condense train` on data.dataset = "npy", with arrays written by numpy itself (/usr/bin/python3):
// a classification and a regression run complete, the resolved config reruns them, and a Gaussian
// dataset exported to NPY trains to exactly the numbers of the Gaussian run.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "condense/config/config.hpp"
#include "condense/core/atomic_file.hpp"
#include "condense/core/npy.hpp"
#include "condense/data/dataset.hpp"
#include "run_condense.hpp"

namespace fs = std::filesystem;
using condense_test::Result;
using condense_test::run;
using condense_test::run_shell;
using ::testing::HasSubstr;

namespace {

class NpyTrain : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("condense_npy_train_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "arrays");
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string write_file(const std::string& name, const std::string& text) const {
    const fs::path path = dir_ / name;
    std::ofstream(path) << text;
    return path.string();
  }

  // Runs a numpy script in the arrays folder (its working directory).
  void numpy(const std::string& script) const {
    const std::string file = write_file("make_arrays.py", "import numpy as np\n" + script);
    const Result r = run_shell("cd " + (dir_ / "arrays").string() + " && /usr/bin/python3 " + file);
    ASSERT_EQ(r.code, 0) << r.output;
  }

  fs::path dir_;
};

std::string read(const fs::path& path) {
  return condense::read_file(path);
}

// metrics.csv without its time_s column: what a run computed, not how long it took.
std::vector<std::string> metrics_without_time(const fs::path& file) {
  std::istringstream in(read(file));
  std::vector<std::string> rows;
  std::size_t time_column = 0;
  for (std::string line; std::getline(in, line);) {
    std::vector<std::string> cells;
    std::istringstream fields(line);
    for (std::string cell; std::getline(fields, cell, ',');) cells.push_back(cell);
    if (rows.empty())
      time_column = std::size_t(std::find(cells.begin(), cells.end(), "time_s") - cells.begin());
    if (time_column < cells.size()) cells.erase(cells.begin() + std::ptrdiff_t(time_column));
    std::string row;
    for (const auto& cell : cells) row += cell + ",";
    rows.push_back(row);
  }
  return rows;
}

// 40 + 10 images 1×6×6, label 1 when the left half is brighter than the right.
const char* kImages = R"(rng = np.random.default_rng(0)
x = rng.normal(size=(50, 1, 6, 6)).astype(np.float32)
y = (x[:, 0, :, :3].sum(axis=(1, 2)) > x[:, 0, :, 3:].sum(axis=(1, 2))).astype(np.int64)
np.save("x_train.npy", x[:40]); np.save("y_train.npy", y[:40])
np.save("x_test.npy", x[40:]); np.save("y_test.npy", y[40:])
)";

const char* kImageConfig = R"(seed = 3
threads = 1

[data]
dataset = "npy"
path = "{path}"
train_size = 0
test_size = -1
target = "binary"
positive_classes = [1]

[model]
conv = [{ channels = 4, kernel = 3, padding = 1 }]

[init]
std = 0.1

[train]
lr = 0.05
steps = 30
)";

std::string with_path(std::string config, const fs::path& path) {
  config.replace(config.find("{path}"), 6, path.string());
  return config;
}

TEST_F(NpyTrain, ImagesTrainAndTheResolvedConfigRerunsThem) {
  numpy(kImages);
  const std::string config = write_file("c.toml", with_path(kImageConfig, dir_ / "arrays"));
  const fs::path out = dir_ / "run";
  const Result r = run("train " + config + " --quiet --out " + out.string());
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_THAT(read(out / "summary.json"),
              HasSubstr("npy: " + (dir_ / "arrays").string() +
                        ": 40 train / 10 test, 1x6x6, 2 classes, standard normalization, binary "
                        "targets (+1: class 1)"));
  const std::vector<std::string> metrics = metrics_without_time(out / "metrics.csv");
  ASSERT_GE(metrics.size(), 5u);  // the header and steps 0, 10, 20, 30 at least
  EXPECT_EQ(metrics[1].substr(0, 2), "0,");
  EXPECT_EQ(metrics.back().substr(0, 3), "30,");
  const std::string resolved = read(out / "config.toml");
  EXPECT_THAT(resolved, HasSubstr("dataset = 'npy'"));
  EXPECT_THAT(resolved, HasSubstr("path = '" + (dir_ / "arrays").string() + "'"));

  const Result again = run("train " + (out / "config.toml").string() + " --quiet --out " +
                           (dir_ / "again").string());
  ASSERT_EQ(again.code, 0) << again.output;
  EXPECT_EQ(metrics_without_time(dir_ / "again/metrics.csv"), metrics);
  EXPECT_EQ(read(out / "snapshots/step_30/conv1.weight.npy"),
            read(dir_ / "again/snapshots/step_30/conv1.weight.npy"));
}

TEST_F(NpyTrain, RealValuedTargetsTrainWithMse) {
  numpy(R"(rng = np.random.default_rng(1)
x = rng.uniform(-1, 1, size=(60, 5)).astype(np.float32)
np.save("x_train.npy", x)
np.save("y_train.npy", np.sin(3 * x).sum(axis=1))
)");
  const std::string config = write_file("r.toml", with_path(R"(seed = 1
threads = 1
[data]
dataset = "npy"
path = "{path}"
train_size = 0
target = "regression"
[model]
conv = []
hidden = [16]
[init]
scheme = "kaiming-normal"
[train]
loss = "mse"
lr = 0.05
steps = 200
eval_every = 200
)",
                                                            dir_ / "arrays"));
  const fs::path out = dir_ / "run";
  const Result r = run("train " + config + " --quiet --out " + out.string());
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_THAT(read(out / "summary.json"),
              HasSubstr(": 60 train / 0 test, 5x1x1, 1 real-valued target per sample"));
  // The loss falls: the targets were read and fitted.
  const std::vector<std::string> metrics = metrics_without_time(out / "metrics.csv");
  ASSERT_GE(metrics.size(), 3u);
  EXPECT_EQ(metrics.back().substr(0, 4), "200,");
  const auto loss = [](const std::string& row) {
    std::vector<std::string> cells;
    std::istringstream fields(row);
    for (std::string cell; std::getline(fields, cell, ',');) cells.push_back(cell);
    return std::stod(cells.at(3));  // step, epoch, lr, train_loss
  };
  EXPECT_LT(loss(metrics.back()), 0.5 * loss(metrics[1]));

  // Cross-entropy cannot fit real-valued targets.
  Result refused = run("train " + config + " --quiet --out " + (dir_ / "ce").string() +
                       " --set train.loss=cross-entropy");
  EXPECT_EQ(refused.code, 2);
  EXPECT_THAT(refused.output,
              HasSubstr("train.loss = \"cross-entropy\" needs data.target = \"class\", not "
                        "\"regression\""));
  // Nor are real values class labels.
  refused = run("train " + config + " --quiet --out " + (dir_ / "class").string() +
                " --set train.loss=cross-entropy --set data.target=class");
  EXPECT_EQ(refused.code, 2);
  EXPECT_THAT(refused.output, HasSubstr("y_train.npy: the label at [0] is"));
  EXPECT_THAT(refused.output, HasSubstr("not a whole number"));
}

TEST_F(NpyTrain, ErrorsExitWithCode2AndNameTheFile) {
  numpy(R"(x = np.zeros((4, 1, 2, 2)); x[1, 0, 1, 0] = np.nan
np.save("x_train.npy", x); np.save("y_train.npy", np.array([0, 1, 0, 1]))
)");
  const std::string config = write_file("c.toml", with_path(kImageConfig, dir_ / "arrays"));
  const Result r = run("train " + config + " --quiet --out " + (dir_ / "run").string() +
                       " --set data.test_size=0");
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.output, HasSubstr("condense: error: " + (dir_ / "arrays/x_train.npy").string() +
                                  ": the value at [1, 0, 1, 0] is NaN"));
  const Result missing =
      run("train " + config + " --quiet --out " + (dir_ / "run").string() + " --set data.path=");
  EXPECT_EQ(missing.code, 2);
  EXPECT_THAT(missing.output, HasSubstr("data.path is required for npy"));
}

// The same samples, drawn by the gaussian dataset and exported to NPY by numpy (labels as uint8,
// test images in Fortran order), train to the same numbers: reading, subsetting, normalization and
// targets of npy are those of every other dataset.
TEST_F(NpyTrain, GaussianSamplesExportedToNpyTrainToTheSameNumbers) {
  const char* gaussian = R"(seed = 3
threads = 1

[data]
dataset = "gaussian"
gaussian_shape = [1, 6, 6]
train_size = 48
test_size = 16
target = "binary"
positive_classes = [1]

[model]
conv = [{ channels = 4, kernel = 3, padding = 1 }]

[init]
std = 0.1

[train]
optimizer = "sgd"
momentum = 0.9
batch_size = 16
lr = 0.05
steps = 40
)";
  const std::string gaussian_config = write_file("gaussian.toml", gaussian);
  ASSERT_EQ(run("train " + gaussian_config + " --quiet --out " + (dir_ / "gaussian").string()).code,
            0);

  // The raw samples and labels of that run's data, as plain bytes for numpy to save.
  condense::DataSpec spec = condense::load_config(gaussian_config, {}).data;
  spec.normalize = condense::Normalize::none;
  const condense::Data data = condense::load_data(spec, 3);
  const auto dump = [&](const std::string& name, const condense::DataSplit& split) {
    std::vector<std::int64_t> labels(split.original_labels.begin(), split.original_labels.end());
    std::ofstream(dir_ / "arrays" / (name + "_x.bin"), std::ios::binary)
        .write(reinterpret_cast<const char*>(split.inputs.data()),
               std::streamsize(split.inputs.size() * sizeof(double)));
    std::ofstream(dir_ / "arrays" / (name + "_y.bin"), std::ios::binary)
        .write(reinterpret_cast<const char*>(labels.data()),
               std::streamsize(labels.size() * sizeof(std::int64_t)));
  };
  dump("train", data.train);
  dump("test", data.test);
  numpy(R"(x = np.fromfile("train_x.bin", "<f8").reshape(48, 1, 6, 6)
np.save("x_train.npy", x)
np.save("y_train.npy", np.fromfile("train_y.bin", "<i8").astype(np.uint8))
np.save("x_test.npy", np.asfortranarray(np.fromfile("test_x.bin", "<f8").reshape(16, 1, 6, 6)))
np.save("y_test.npy", np.fromfile("test_y.bin", "<i8").astype(np.uint8))
)");
  ASSERT_THAT(read(dir_ / "arrays/x_test.npy"), HasSubstr("'fortran_order': True"));

  std::string npy = gaussian;
  npy.replace(npy.find("dataset = \"gaussian\"\ngaussian_shape = [1, 6, 6]"),
              std::string("dataset = \"gaussian\"\ngaussian_shape = [1, 6, 6]").size(),
              "dataset = \"npy\"\npath = \"" + (dir_ / "arrays").string() + "\"");
  const Result r =
      run("train " + write_file("npy.toml", npy) + " --quiet --out " + (dir_ / "npy").string());
  ASSERT_EQ(r.code, 0) << r.output;
  const std::vector<std::string> expected = metrics_without_time(dir_ / "gaussian/metrics.csv");
  ASSERT_GT(expected.size(), 2u);
  EXPECT_EQ(metrics_without_time(dir_ / "npy/metrics.csv"), expected);
  EXPECT_EQ(read(dir_ / "npy/analysis.csv"), read(dir_ / "gaussian/analysis.csv"));
  for (const char* weights : {"conv1.weight.npy", "fc1.weight.npy"})
    EXPECT_EQ(read(dir_ / "npy/snapshots/step_40" / weights),
              read(dir_ / "gaussian/snapshots/step_40" / weights))
        << weights;
}

// Every key of an npy config is written out and reads back to the same config.
TEST(NpyConfig, ResolvedConfigRoundTrips) {
  const condense::RunConfig config = condense::load_config_text(
      "[data]\ndataset = \"npy\"\npath = \"my arrays\"\ntarget = \"regression\"\ntest_size = -1\n"
      "[train]\nloss = \"mse\"\n",
      "npy.toml", {}, {}, {});
  EXPECT_EQ(config.data.dataset, condense::DatasetKind::npy);
  EXPECT_EQ(config.data.path, "my arrays");
  const std::string text = condense::to_toml(config);
  EXPECT_THAT(text, HasSubstr("dataset = 'npy'"));
  const condense::RunConfig again = condense::load_config_text(text, "config.toml", {});
  EXPECT_EQ(condense::to_toml(again), text);
  EXPECT_EQ(again.data.path, "my arrays");
  EXPECT_EQ(again.data.target, condense::TargetKind::regression);
  EXPECT_EQ(again.data.test_size, -1);
}

}  // namespace
