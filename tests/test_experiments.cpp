// `condense run`: every experiment in experiments/ runs in its reduced version (--quick) and
// writes its table, comparison figures and page; the experiment file's errors name file, line
// and key; reruns skip finished runs and retrain changed ones; a failing run does not stop the
// others.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "condense/core/atomic_file.hpp"
#include "condense/core/csv.hpp"
#include "run_condense.hpp"

namespace fs = std::filesystem;
using ::testing::HasSubstr;

namespace {

using condense_test::run;

fs::path scratch(const std::string& name) {
  const fs::path dir =
      fs::temp_directory_path() / ("condense_experiments_" + std::to_string(::getpid())) / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

std::vector<std::string> experiment_files() {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(fs::path(CONDENSE_SOURCE_DIR) / "experiments"))
    if (entry.path().extension() == ".toml" &&
        condense::read_file(entry.path()).find("\n[experiment]") != std::string::npos)
      names.push_back(entry.path().stem().string());
  std::sort(names.begin(), names.end());
  return names;
}

int count_runs(const std::string& text) {
  int runs = 0;
  for (std::size_t at = 0; (at = text.find("[[experiment.runs]]", at)) != std::string::npos; ++at)
    ++runs;
  return runs;
}

class ExperimentQuick : public ::testing::TestWithParam<std::string> {};

// The reduced version of each experiment: every run completes, experiment.csv has a row per run,
// every comparison is drawn and the page links every run's report.
TEST_P(ExperimentQuick, RunsAndWritesItsPage) {
  const fs::path file = fs::path(CONDENSE_SOURCE_DIR) / "experiments" / (GetParam() + ".toml");
  const fs::path out = scratch(GetParam());
  const auto r = run("run " + file.string() + " --quick --quiet --out " + out.string());
  ASSERT_EQ(r.code, 0) << r.output;
  const std::string text = condense::read_file(file);
  const int runs = count_runs(text);
  ASSERT_GE(runs, 1);
  const condense::CsvTable table = condense::read_csv(out / "experiment.csv");
  ASSERT_EQ(int(table.rows.size()), runs);
  const std::string index = condense::read_file(out / "index.html");
  for (std::size_t i = 0; i < table.rows.size(); ++i) {
    EXPECT_EQ(table.rows[i][std::size_t(table.column("status"))], "completed") << i;
    const std::string name = table.rows[i][std::size_t(table.column("run"))];
    EXPECT_TRUE(fs::exists(out / name / "report.html")) << name;
    EXPECT_THAT(index, HasSubstr("href=\"" + name + "/report.html\""));
  }
  // One folder with a PNG per comparison in the file.
  int comparisons = 0;
  for (std::size_t at = 0; (at = text.find("metric = \"", at)) != std::string::npos; ++at)
    ++comparisons;
  int drawn = 0;
  if (fs::exists(out / "compare"))
    for (const auto& entry : fs::directory_iterator(out / "compare"))
      for (const auto& figure : fs::directory_iterator(entry.path()))
        drawn += figure.path().filename().string().rfind("compare_", 0) == 0 &&
                 figure.path().extension() == ".png";
  EXPECT_EQ(drawn, comparisons);
  EXPECT_THAT(index, Not(HasSubstr("<div class=\"notes\">"))) << index;
}

INSTANTIATE_TEST_SUITE_P(Experiments, ExperimentQuick, ::testing::ValuesIn(experiment_files()),
                         [](const auto& param_info) {
                           std::string name = param_info.param;
                           std::replace_if(name.begin(), name.end(),
                                           [](char c) { return !std::isalnum(c); }, '_');
                           return name;
                         });

// The experiments of docs/science.md §3 and docs/experiments.md, one file each, named in both.
TEST(Experiments, EveryDocumentedExperimentHasAFile) {
  const std::vector<std::string> expected = {
      "fc_sin_activations",           "multi_layer_cnn_activations", "residual_fc_mixed_activations",
      "small_vs_standard_init",       "two_layer_cnn_conditions",    "two_layer_cnn_init_scales"};
  EXPECT_EQ(experiment_files(), expected);
  for (const char* page : {"docs/experiments.md", "docs/science.md"}) {
    const std::string docs = condense::read_file(fs::path(CONDENSE_SOURCE_DIR) / page);
    for (const auto& name : expected)
      EXPECT_THAT(docs, HasSubstr("experiments/" + name + ".toml")) << page;
  }
}

// A small experiment on Gaussian images, for the tests below.
const char* kSmall = R"(seed = 1
dtype = "float64"
threads = 1
[data]
dataset = "gaussian"
gaussian_shape = [1, 6, 6]
train_size = 24
target = "binary"
positive_classes = [0]
[model]
conv = [{ channels = 4, kernel = 3, padding = 1 }]
[init]
std = 1e-3
[train]
lr = 0.05
steps = 20
[experiment]
title = "small"
compare = [{ metric = "mean_abs_cos" }]
[[experiment.runs]]
label = "lr 0.05"
[[experiment.runs]]
label = "lr 0.1"
set = ["train.lr=0.1"]
)";

std::string write(const fs::path& dir, const std::string& text) {
  const fs::path path = dir / "exp.toml";
  std::ofstream(path) << text;
  return path.string();
}

TEST(Experiments, RerunSkipsFinishedRunsAndRetrainsChangedOnes) {
  const fs::path dir = scratch("rerun");
  const std::string file = write(dir, kSmall);
  const std::string command = "run " + file + " --quiet --out " + (dir / "out").string();
  ASSERT_EQ(run(command).code, 0);
  const auto first = fs::last_write_time(dir / "out/lr_0.05/summary.json");
  const auto again = run(command);
  ASSERT_EQ(again.code, 0) << again.output;
  EXPECT_THAT(again.output, HasSubstr("completed already"));
  EXPECT_EQ(fs::last_write_time(dir / "out/lr_0.05/summary.json"), first);
  // A changed setting trains that run again.
  std::string changed = kSmall;
  changed.replace(changed.find("train.lr=0.1"), 12, "train.lr=0.2");
  write(dir, changed);
  const auto third = run(command);
  ASSERT_EQ(third.code, 0) << third.output;
  EXPECT_THAT(third.output, HasSubstr("lr 0.1: its settings changed; training it again"));
  EXPECT_THAT(condense::read_file(dir / "out/lr_0.1/config.toml"), HasSubstr("lr = 0.2"));
  EXPECT_EQ(fs::last_write_time(dir / "out/lr_0.05/summary.json"), first);
}

TEST(Experiments, FailingRunIsRecordedAndTheOthersGoOn) {
  const fs::path dir = scratch("failing");
  std::string text = kSmall;
  text.replace(text.find("label = \"lr 0.05\""), 17,
               "label = \"diverges\"\nset = [\"train.lr=1e30\", \"init.std=10\"]");
  const auto r = run("run " + write(dir, text) + " --quiet --out " + (dir / "out").string());
  EXPECT_EQ(r.code, 3) << r.output;
  EXPECT_THAT(r.output, HasSubstr("1 of 2 runs failed"));
  const condense::CsvTable table = condense::read_csv(dir / "out/experiment.csv");
  ASSERT_EQ(table.rows.size(), 2u);
  EXPECT_EQ(table.rows[0][std::size_t(table.column("status"))], "diverged");
  EXPECT_EQ(table.rows[0][std::size_t(table.column("error"))], "diverged");
  EXPECT_EQ(table.rows[1][std::size_t(table.column("status"))], "completed");
  EXPECT_TRUE(fs::exists(dir / "out/index.html"));
}

// A run that cannot fit (10^9 steps keep 10^8 metrics rows) is refused at once with its estimate,
// recorded as failed, and the others still run.
TEST(Experiments, ARunThatCannotFitIsRefusedAndTheOthersGoOn) {
  const fs::path dir = scratch("unbounded");
  std::string text = kSmall;
  text.replace(text.find("label = \"lr 0.05\""), 17,
               "label = \"endless\"\nset = [\"train.steps=1000000000\", \"train.eval_every=1\"]");
  const auto started = std::chrono::steady_clock::now();
  const auto r = run("run " + write(dir, text) + " --quiet --out " + (dir / "out").string());
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count(), 120);
  EXPECT_EQ(r.code, 3) << r.output;
  EXPECT_THAT(r.output, HasSubstr("of memory, but"));
  EXPECT_THAT(r.output, HasSubstr("use fewer steps, a larger train.eval_every"));
  const condense::CsvTable table = condense::read_csv(dir / "out/experiment.csv");
  ASSERT_EQ(table.rows.size(), 2u);
  EXPECT_EQ(table.rows[0][std::size_t(table.column("status"))], "failed");
  EXPECT_EQ(table.rows[1][std::size_t(table.column("status"))], "completed");
  EXPECT_FALSE(fs::exists(dir / "out/endless/summary.json"));
}

struct BadCase {
  const char* from;
  const char* to;
  const char* message;
};

// Every error names the file and line and says what was expected, before anything is trained.
TEST(Experiments, BadExperimentFilesNameFileLineAndKey) {
  const BadCase cases[] = {
      {"title = \"small\"", "title = \"small\"\ncolour = 1", "exp.toml:19: unknown key colour in [experiment]"},
      {"set = [\"train.lr=0.1\"]", "set = [\"train.rl=0.1\"]",
       "exp.toml:24 (run lr 0.1): unknown key train.rl"},
      {"set = [\"train.lr=0.1\"]", "set = [\"train.lr=fast\"]",
       "exp.toml:24 (run lr 0.1): train.lr must be a number"},
      {"set = [\"train.lr=0.1\"]", "set = \"train.lr=0.1\"",
       "exp.toml:24: set of run lr 0.1 must be an array of \"key=value\""},
      // The key is named once (it once read "experiment.quick.quick").
      {"title = \"small\"", "title = \"small\"\nquick = { steps = 3 }",
       "exp.toml:19: experiment.quick must be an array of \"key=value\" strings"},
      {"label = \"lr 0.1\"", "label = \"lr 0.05\"", "two runs are named \"lr_0.05\""},
      {"metric = \"mean_abs_cos\"", "metric = \"purity\"", "unknown metric \"purity\""},
      {"lr = 0.05\n", "lr = \"x\"\n", "exp.toml:15: train.lr must be a number"},
  };
  for (const auto& c : cases) {
    const fs::path dir = scratch("bad");
    std::string text = kSmall;
    text.replace(text.find(c.from), std::string(c.from).size(), c.to);
    const auto r = run("run " + write(dir, text) + " --quiet --out " + (dir / "out").string());
    EXPECT_EQ(r.code, 2) << c.to;
    EXPECT_THAT(r.output, HasSubstr(c.message)) << c.to;
    EXPECT_FALSE(fs::exists(dir / "out")) << c.to;
  }
  const fs::path dir = scratch("plain");
  const std::string plain = std::string(kSmall).substr(0, std::string(kSmall).find("[experiment]"));
  const auto r = run("run " + write(dir, plain) + " --quiet --out " + (dir / "out").string());
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.output, HasSubstr("exp.toml: no [experiment] table"));
  const auto missing = run("run /nonexistent/exp.toml --quiet");
  EXPECT_EQ(missing.code, 2);
  EXPECT_THAT(missing.output, HasSubstr("/nonexistent/exp.toml"));
}

}  // namespace
