// Runs trained outside condense (docs/python.md, docs/run-directory.md): the [external] table of
// config.toml, the run directory pipeline/external_run.hpp writes for the Python package's tracker
// and checkpoint import, metrics.csv with columns of its own, and condense train refusing such a
// run while report, analyze and compare read it, whatever its layers are named.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <random>

#include "condense/config/config.hpp"
#include "condense/core/atomic_file.hpp"
#include "condense/core/error.hpp"
#include "condense/pipeline/external_run.hpp"
#include "condense/rundir/analysis_table.hpp"
#include "condense/rundir/metrics.hpp"
#include "condense/rundir/summary.hpp"
#include "run_condense.hpp"

namespace fs = std::filesystem;
using ::testing::HasSubstr;

namespace {

fs::path scratch_root() {
  return fs::temp_directory_path() / ("condense_external_" + std::to_string(getpid()));
}

// The scratch folders go when the tests end.
class RemoveScratch : public ::testing::Environment {
 public:
  void TearDown() override { fs::remove_all(scratch_root()); }
};
[[maybe_unused]] const auto* const kRemoveScratch =
    ::testing::AddGlobalTestEnvironment(new RemoveScratch);

fs::path scratch(const std::string& name) {
  const fs::path path = scratch_root() / name;
  fs::remove_all(path);
  fs::create_directories(path.parent_path());
  return path;
}

condense::RunConfig external_config() {
  condense::RunConfig config;
  config.track.per_decade = 10;
  config.track.threshold = 0.9;
  config.external.trained_with = "pytorch";
  config.external.version = "2.1.0";
  config.external.model_class = "__main__.ResNet";
  config.external.model = "ResNet(\n  (conv1): Conv2d(1, 4, kernel_size=(3, 3))\n) \"quoted\"";
  config.external.parameters = {{"conv1.weight", {4, 1, 3, 3}},
                                {"layer1.0.conv1.weight", {6, 4, 3, 3}},
                                {"layer1.0.downsample.0.weight", {6, 4, 1, 1}},
                                {"bn1.weight", {6}},
                                {"fc.weight", {3, 6}},
                                {"fc.bias", {3}}};
  config.external.optimizer_class = "torch.optim.adam.Adam";
  config.external.optimizer = nlohmann::json::array(
      {{{"lr", 0.001}, {"betas", {0.9, 0.999}}, {"amsgrad", false}, {"foreach", "None"}}});
  config.external.description = "300 Fashion-MNIST images";
  return config;
}

std::string config_error(const std::string& text) {
  try {
    condense::load_config_text(text, "run/config.toml", {});
  } catch (const condense::InputError& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST(ExternalConfig, RoundTripsThroughConfigToml) {
  const condense::RunConfig config = external_config();
  const std::string text = condense::to_toml(config);
  EXPECT_THAT(text, HasSubstr("[external]\ntrained_with = 'pytorch'\n"));
  EXPECT_THAT(text, HasSubstr("[[external.optimizer]]"));
  EXPECT_THAT(text, HasSubstr("\n[track]\n"));
  EXPECT_THAT(text, ::testing::Not(HasSubstr("[train]")));
  const condense::RunConfig read = condense::load_config_text(text, "config.toml", {});
  const condense::ExternalTraining& e = read.external;
  EXPECT_TRUE(e.given());
  EXPECT_EQ(e.version, "2.1.0");
  EXPECT_EQ(e.model, config.external.model);
  EXPECT_EQ(e.description, config.external.description);
  ASSERT_EQ(e.parameters.size(), 6u);
  EXPECT_EQ(e.parameters[2].name, "layer1.0.downsample.0.weight");
  EXPECT_EQ(e.parameters[2].shape, (std::vector<std::int64_t>{6, 4, 1, 1}));
  EXPECT_EQ(e.optimizer, config.external.optimizer);
  EXPECT_EQ(read.track.per_decade, 10);
  EXPECT_EQ(read.track.threshold, 0.9);
  // A run condense trains has no [external] table.
  EXPECT_FALSE(condense::load_config_text(condense::to_toml(condense::RunConfig{}), "c", {})
                   .external.given());
}

TEST(ExternalConfig, MistakesAreNamedWithTheirLine) {
  EXPECT_THAT(config_error("[external]\nversion = \"1\"\n"),
              HasSubstr("run/config.toml:1: the [external] table needs trained_with"));
  EXPECT_THAT(config_error("[external]\ntrained_with = \"pytorch\"\nmodle = \"x\"\n"),
              HasSubstr("run/config.toml:3: unknown key external.modle (did you mean model?)"));
  EXPECT_EQ(config_error("[external]\ntrained_with = 3\n"),
            "run/config.toml:2: external.trained_with must be a string");
  EXPECT_EQ(config_error("[external]\ntrained_with = \"\"\n"),
            "run/config.toml:2: external.trained_with must name what trained the run, e.g. "
            "\"pytorch\"");
  EXPECT_THAT(
      config_error("[external]\ntrained_with = \"pytorch\"\nparameters = [{ name = \"a\" }]\n"),
      HasSubstr("run/config.toml:3: external.parameters must be an array of"));
  EXPECT_THAT(config_error("[external]\ntrained_with = \"pytorch\"\n[[external.optimizer]]\n"
                           "lr = { value = 1 }\n"),
              HasSubstr("run/config.toml:4: external.optimizer: lr must be a number"));
  // The rest of a config would describe a training condense did not do.
  EXPECT_THAT(
      config_error("[external]\ntrained_with = \"pytorch\"\n[train]\nsteps = 10\n"),
      HasSubstr("run/config.toml:4: train.steps does not belong in the config of a run trained "
                "outside condense"));
  EXPECT_EQ(config_error("[external]\ntrained_with = \"pytorch\"\n[track]\nthreshold = 0.9\n"),
            "no error");
}

TEST(ExternalMetrics, ExtraColumnsAreWrittenAfterTheKnownOnesAndIgnoredByTheReader) {
  condense::MetricsRow first;
  first.step = 0;
  first.epoch = NAN;  // not given
  first.lr = NAN;
  first.time_s = 0.5;
  first.train_loss = 0.25;
  first.extra = {1.5};
  condense::MetricsRow second = first;
  second.step = 10;
  second.lr = 0.1;
  second.extra = {NAN, 7};
  const std::string text = condense::metrics_csv({first, second}, {"grad_norm", "batch"});
  EXPECT_EQ(text,
            "step,epoch,time_s,lr,train_loss,train_acc,test_loss,test_acc,grad_norm,batch\n"
            "0,,0.5000,,0.25,,,,1.5,\n"
            "10,,0.5000,0.1,0.25,,,,,7\n");
  const fs::path path = scratch("metrics.csv");
  condense::write_file_atomic(path, text);
  const auto rows = condense::read_metrics(path);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_TRUE(std::isnan(rows[0].lr));
  EXPECT_EQ(rows[1].lr, 0.1);
  EXPECT_EQ(rows[1].train_loss, 0.25);
  // Extra columns anywhere after the known ones, and the time is still required.
  condense::write_file_atomic(path,
                              "step,epoch,time_s,lr,train_loss,train_acc,test_loss,"
                              "test_acc,x\n3,1,0.1,0.01,2,,,,hello\n");
  EXPECT_EQ(condense::read_metrics(path).at(0).train_loss, 2);
  condense::write_file_atomic(path,
                              "step,epoch,time_s,lr,train_loss,train_acc,test_loss,"
                              "test_acc\n3,1,,0.01,2,,,\n");
  EXPECT_THROW(condense::read_metrics(path), condense::InputError);
  // An extra column cannot take a known name or break the CSV.
  EXPECT_THROW(condense::metrics_csv({first}, {"lr"}), condense::InputError);
  EXPECT_THROW(condense::metrics_csv({first}, {"a,b"}), condense::InputError);
}

TEST(ExternalSummary, FailedStatusRoundTrips) {
  const fs::path path = scratch("summary.json");
  condense::RunSummary summary;
  summary.status = condense::RunStatus::failed;
  summary.message = "RuntimeError: CUDA out of memory";
  summary.model = "Net(...)";
  condense::write_summary(path, summary);
  const condense::RunSummary read = condense::read_summary(path);
  EXPECT_EQ(read.status, condense::RunStatus::failed);
  EXPECT_EQ(read.message, summary.message);
  EXPECT_EQ(read.model, "Net(...)");
}

// A small ResNet-like run: convs named as torchvision names them, a 1×1 shortcut, a Linear head,
// a BatchNorm that is not tracked; its kernels drift towards one direction over 40 steps.
class ExternalRunDirectory : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = scratch("resnet");
    condense::ExternalRun run(root_, external_config(), false, "overwrite=True", true);
    std::mt19937 random(5);
    std::normal_distribution<double> normal(0.0, 1.0);
    auto tensor = [&](const std::string& name, std::vector<std::int64_t> shape, double drift) {
      condense::ExternalTensor t{name, shape, {}, condense::NpyType::float32};
      std::int64_t size = 1;
      for (auto d : shape) size *= d;
      const std::int64_t per_kernel = size / shape[0];
      for (std::int64_t i = 0; i < size; ++i)
        t.values.push_back(float(0.01 * normal(random) + drift * double(i % per_kernel + 1)));
      return t;
    };
    std::vector<condense::MetricsRow> rows;
    for (long step : {0L, 1L, 2L, 5L, 10L, 20L, 40L}) {
      const double drift = 0.002 * double(step);
      run.snapshot(step, {tensor("conv1.weight", {4, 1, 3, 3}, drift),
                          tensor("layer1.0.conv1.weight", {6, 4, 3, 3}, drift),
                          tensor("layer1.0.downsample.0.weight", {6, 4, 1, 1}, drift),
                          tensor("fc.weight", {3, 6}, drift), tensor("fc.bias", {3}, 0)});
      condense::MetricsRow row;
      row.step = step;
      row.time_s = 0.1 * double(step);
      row.lr = 0.001;
      row.epoch = NAN;
      row.train_loss = 1.0 / double(step + 1);
      row.extra = {double(step)};
      rows.push_back(row);
    }
    run.write_tables(rows, {"grad_norm"});
    condense::RunSummary summary;
    summary.steps = 40;
    summary.data = "random";
    summary.model = "ResNet(...)";
    run.finish(summary);
  }
  static inline fs::path root_;
};

TEST_F(ExternalRunDirectory, HoldsTheFilesOfARun) {
  for (const char* file :
       {".condense-run", "config.toml", "metrics.csv", "snapshots/index.csv",
        "snapshots/step_0/layer1.0.downsample.0.weight.npy", "snapshots/step_40/fc.bias.npy",
        "analysis.csv", "cosines/step_40/layer1.0.conv1.npy", "summary.json"})
    EXPECT_TRUE(fs::exists(root_ / file)) << file;
  const auto rows = condense::read_analysis_csv(root_ / "analysis.csv");
  ASSERT_EQ(rows.size(), 7u * 4u);
  // Layers in the model's order, RD against step 0.
  EXPECT_EQ(rows[0].layer, "conv1");
  EXPECT_EQ(rows[1].layer, "layer1.0.conv1");
  EXPECT_EQ(rows[2].layer, "layer1.0.downsample.0");
  EXPECT_EQ(rows[3].layer, "fc");
  EXPECT_EQ(rows[0].rd, 0);
  EXPECT_GT(rows.back().rd, 0);
  EXPECT_EQ(condense::read_summary(root_ / "summary.json").status, condense::RunStatus::completed);
}

TEST_F(ExternalRunDirectory, RefusesSnapshotsOutOfOrderAndNamesThatLeaveTheFolder) {
  const fs::path other = scratch("refusals");
  condense::ExternalRun run(other, external_config(), false, "overwrite=True", true);
  const condense::ExternalTensor weight{
      "fc.weight", {2, 2}, {1, 2, 3, 4}, condense::NpyType::float64};
  run.snapshot(3, {weight});
  EXPECT_THROW(run.snapshot(3, {weight}), condense::InputError);
  condense::ExternalTensor escape = weight;
  escape.name = "../../escape";
  EXPECT_THROW(run.snapshot(4, {escape}), condense::InputError);
  condense::ExternalTensor short_values = weight;
  short_values.values.pop_back();
  EXPECT_THROW(run.snapshot(5, {short_values}), condense::InputError);
  // The directory exists now: not replaced without overwrite, and the message says how.
  try {
    condense::ExternalRun again(other, external_config(), false, "overwrite=True", true);
    FAIL() << "an existing run directory was replaced";
  } catch (const condense::InputError& e) {
    EXPECT_THAT(std::string(e.what()), HasSubstr("already exists; give another directory, or "
                                                 "overwrite=True to replace it"));
  }
}

TEST_F(ExternalRunDirectory, TrainAndResumeRefuseIt) {
  const auto trained = condense_test::run("train " + (root_ / "config.toml").string() + " --out " +
                                          scratch("retrain").string());
  EXPECT_EQ(trained.code, 2) << trained.output;
  EXPECT_THAT(trained.output,
              HasSubstr("config.toml describes a run that was trained outside condense (PyTorch); "
                        "condense cannot train it; condense report, condense analyze and "
                        "condense compare read it"));
  const auto resumed = condense_test::run("train --resume " + root_.string());
  EXPECT_EQ(resumed.code, 2) << resumed.output;
  EXPECT_THAT(resumed.output,
              HasSubstr(root_.string() + " was trained outside condense (PyTorch); condense "
                                         "cannot train it"));
  const auto extended =
      condense_test::run("train --resume " + root_.string() + " --set train.steps=100");
  EXPECT_EQ(extended.code, 2) << extended.output;
  EXPECT_THAT(extended.output, HasSubstr("was trained outside condense (PyTorch)"));
}

TEST_F(ExternalRunDirectory, ReportAnalyzeAndCompareReadIt) {
  const fs::path run = scratch("read");
  fs::copy(root_, run, fs::copy_options::recursive);
  const std::string written = condense::read_file(run / "analysis.csv");
  // analyze measures the snapshots again, in the model's order that config.toml lists.
  const auto analyzed = condense_test::run("analyze " + run.string() + " --quiet");
  ASSERT_EQ(analyzed.code, 0) << analyzed.output;
  EXPECT_EQ(condense::read_file(run / "analysis.csv"), written);

  const auto reported = condense_test::run("report " + run.string() + " --no-pdf");
  ASSERT_EQ(reported.code, 0) << reported.output;
  for (const char* figure :
       {"heatmaps_conv1", "heatmaps_layer1.0.conv1", "heatmaps_layer1.0.downsample.0",
        "heatmaps_fc", "training", "condensation", "kernels"})
    EXPECT_TRUE(fs::exists(run / "figures" / (std::string(figure) + ".png"))) << figure;
  // The kernel images show the first 4-D weight, whatever its name.
  EXPECT_THAT(condense::read_file(run / "figures" / "kernels.gp"), HasSubstr("conv1 kernels"));
  const std::string html = condense::read_file(run / "report.html");
  EXPECT_THAT(html, HasSubstr("ResNet(...)"));
  EXPECT_THAT(html, HasSubstr("trained_with = 'pytorch'"));

  const auto compared = condense_test::run(
      "compare " + run.string() + " " + root_.string() +
      " --metric rd --layer layer1.0.downsample.0 --no-pdf --out " + (scratch("compare")).string());
  ASSERT_EQ(compared.code, 0) << compared.output;
}

TEST_F(ExternalRunDirectory, KernelImagesTakeTheFirstConvWeightWhateverItsName) {
  // Without conv1, the first 4-D weight is layer1.0.conv1: no name starts with "conv".
  const fs::path run = scratch("no_conv_prefix");
  fs::copy(root_, run, fs::copy_options::recursive);
  fs::remove_all(run / "figures");
  for (const auto& step : fs::directory_iterator(run / "snapshots"))
    if (step.is_directory()) fs::remove(step.path() / "conv1.weight.npy");
  for (const auto& step : fs::directory_iterator(run / "cosines"))
    fs::remove(step.path() / "conv1.npy"), fs::remove(step.path() / "conv1.order.npy");
  const auto analyzed = condense_test::run("analyze " + run.string() + " --quiet");
  ASSERT_EQ(analyzed.code, 0) << analyzed.output;
  const auto reported = condense_test::run("report " + run.string() + " --no-pdf");
  ASSERT_EQ(reported.code, 0) << reported.output;
  ASSERT_TRUE(fs::exists(run / "figures" / "kernels.png"));
  EXPECT_THAT(condense::read_file(run / "figures" / "kernels.gp"),
              HasSubstr("layer1.0.conv1 kernels"));
}

TEST(ExternalRunReport, ARunWithoutLossesWhoseWeightsNeverMovedGetsItsReport) {
  // A tracker given no loss, on a frozen model: no training figure (a note says why), and RD,
  // 0 throughout, drawn on a linear axis; gnuplot fails on neither.
  const fs::path root = scratch("frozen");
  {
    condense::ExternalRun run(root, external_config(), false, "overwrite=True", true);
    const condense::ExternalTensor weight{"conv1.weight",
                                          {3, 1, 2, 2},
                                          {1, 2, 3, 4, -1, 2, 0, 1, 5, 1, 1, 2},
                                          condense::NpyType::float32};
    std::vector<condense::MetricsRow> rows;
    for (long step : {0L, 1L, 2L}) {
      run.snapshot(step, {weight});
      condense::MetricsRow row;
      row.step = step;
      row.epoch = row.lr = NAN;
      rows.push_back(row);
    }
    run.write_tables(rows, {});
    run.finish(condense::RunSummary{});
  }
  const auto reported = condense_test::run("report " + root.string() + " --no-pdf");
  ASSERT_EQ(reported.code, 0) << reported.output;
  EXPECT_FALSE(fs::exists(root / "figures" / "training.png"));
  EXPECT_TRUE(fs::exists(root / "figures" / "condensation.png"));
  EXPECT_TRUE(fs::exists(root / "figures" / "heatmaps_conv1.png"));
  EXPECT_THAT(condense::read_file(root / "report.html"),
              HasSubstr("metrics.csv holds no loss: no training figure"));
}

TEST(ExternalRunMeasures, ALayerOfNanValuesIsSavedButNotMeasured) {
  const fs::path root = scratch("nan");
  condense::ExternalRun run(root, external_config(), false, "overwrite=True", true);
  condense::ExternalTensor conv{
      "conv1.weight", {2, 1, 1, 2}, {1, 2, 3, 4}, condense::NpyType::float64};
  condense::ExternalTensor fc{"fc.weight", {2, 2}, {1, 0, 0, 1}, condense::NpyType::float64};
  EXPECT_TRUE(run.snapshot(0, {conv, fc}).empty());
  fc.values[1] = NAN;
  fc.values[2] = INFINITY;
  EXPECT_EQ(run.snapshot(1, {conv, fc}),
            std::vector<std::string>{"fc: 2 of its 4 values are NaN or infinite"});
  run.write_tables({}, {});
  run.finish(condense::RunSummary{});
  const auto rows = condense::read_analysis_csv(root / "analysis.csv");
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[2].step, 1);
  EXPECT_EQ(rows[2].layer, "conv1");
  EXPECT_TRUE(fs::exists(root / "snapshots" / "step_1" / "fc.weight.npy"));
}
