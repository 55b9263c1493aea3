// Bad input on the command line, as a user meets it: every mistake of a config and its --set
// overrides in one message; warnings about keys that have no effect, once, on stderr, silent with
// --quiet; `train` without a config, a run of no step, sweep --workers/--threads out of range and
// compare --layer naming no layer of the runs are refused with exit code 2 before anything runs.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "condense/core/atomic_file.hpp"
#include "run_condense.hpp"

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

namespace {

using condense_test::run;
using condense_test::run_shell;

fs::path scratch(const std::string& name) {
  const fs::path dir =
      fs::temp_directory_path() / ("condense_cli_input_" + std::to_string(::getpid())) / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

fs::path write(const fs::path& dir, const std::string& name, const std::string& text) {
  std::ofstream(dir / name) << text;
  return dir / name;
}

std::size_t count(const std::string& text, const std::string& part) {
  std::size_t n = 0;
  for (std::size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
  return n;
}

// A run of a few milliseconds: a two-layer CNN on Gaussian images.
const char* kSmall = R"(seed = 1
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
std = 0.1
[train]
lr = 0.05
steps = 5
[track]
save_cosines = true
)";

}  // namespace

TEST(CliInput, EveryMistakeOfAConfigInOneMessage) {
  const fs::path dir = scratch("mistakes");
  const fs::path file =
      write(dir, "bad.toml", "[train]\nlr = -0.1\nlrate = 3\n[model]\nbias = 1\n");
  const auto r = run("train " + file.string() + " --set train.eps=-1e-8 --set init.sdt=1 --out " +
                     (dir / "run").string());
  EXPECT_EQ(r.code, 2);
  const std::string at = file.string();
  EXPECT_THAT(r.output,
              HasSubstr("condense: error: the config has 5 errors:\n"
                        "  " +
                        at +
                        ":2: train.lr must be a positive number, got -0.1\n"
                        "  " +
                        at +
                        ":3: unknown key train.lrate (did you mean train.lr?)\n"
                        "  " +
                        at +
                        ":5: model.bias must be true or false, got 1\n"
                        "  --set train.eps=-1e-8: train.eps must be a positive number, "
                        "got -1e-8\n"
                        "  --set init.sdt=1: unknown key init.sdt (did you mean init.std?)\n"));
  EXPECT_FALSE(fs::exists(dir / "run"));
}

TEST(CliInput, TrainNeedsAConfig) {
  const fs::path dir = scratch("no_config");
  const auto r =
      run_shell("cd " + dir.string() + " && " + CONDENSE_BINARY + " train --set train.steps=3");
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.output, HasSubstr("train needs a config file, e.g. condense train "
                                  "configs/quickstart.toml"));
  EXPECT_FALSE(fs::exists(dir / "runs"));
  // What --resume accepts besides the run (a config, --out, --overwrite): tests/test_resume.cpp.
}

TEST(CliInput, ARunOfNoStepIsRefused) {
  const fs::path dir = scratch("no_step");
  const fs::path config = write(dir, "small.toml", kSmall);
  const auto r =
      run("train " + config.string() + " --set train.steps=0 --out " + (dir / "run").string());
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.output, HasSubstr("--set train.steps=0: train.steps must be an integer ≥ 1 (a run "
                                  "needs at least one step; or set train.epochs > 0), got 0"));
  EXPECT_FALSE(fs::exists(dir / "run"));
}

// Warnings reach stderr once per command, are silent with --quiet and leave config.toml as it
// would be without them; resuming warns about what was set, not about the keys config.toml holds.
TEST(CliInput, KeysWithoutEffectWarnOnce) {
  const fs::path dir = scratch("warnings");
  const fs::path config = write(dir, "small.toml", kSmall);
  const std::string set = " --set data.sin_dim=3 --set train.betas=[0.8,0.9] --no-report";
  const auto r = run("train " + config.string() + set + " --out " + (dir / "run").string());
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(count(r.output, "condense: warning:"), 2u) << r.output;
  EXPECT_THAT(r.output, HasSubstr("condense: warning: --set data.sin_dim=3: data.sin_dim has no "
                                  "effect: it applies to data.dataset = \"sin\", and the dataset "
                                  "is \"gaussian\"\n"));
  EXPECT_THAT(r.output, HasSubstr("condense: warning: --set train.betas=[0.8,0.9]: train.betas has "
                                  "no effect: it applies to optimizer = \"adam\", and the "
                                  "optimizer is \"gd\"\n"));
  const std::string resolved = condense::read_file(dir / "run/config.toml");
  EXPECT_THAT(resolved, HasSubstr("sin_dim = 3"));
  EXPECT_THAT(resolved, HasSubstr("betas = [ 0.8"));

  const auto quiet =
      run("train " + config.string() + set + " --quiet --out " + (dir / "quiet").string());
  ASSERT_EQ(quiet.code, 0) << quiet.output;
  EXPECT_EQ(quiet.output, "");
  EXPECT_EQ(condense::read_file(dir / "quiet/config.toml"), resolved);

  // Without the two keys, the resolved config.toml (every key written out) resumes silently.
  ASSERT_EQ(
      run("train " + config.string() + " --quiet --no-report --out " + (dir / "clean").string())
          .code,
      0);
  const auto resumed =
      run("train --resume " + (dir / "clean").string() + " --set train.steps=8 --no-report");
  ASSERT_EQ(resumed.code, 0) << resumed.output;
  EXPECT_THAT(resumed.output, Not(HasSubstr("condense: warning")));
  const auto resumed_set = run("train --resume " + (dir / "clean").string() +
                               " --set train.steps=10 --set train.momentum=0.5 --no-report");
  EXPECT_EQ(resumed_set.code, 2) << resumed_set.output;  // gd has no momentum: an error
  EXPECT_THAT(resumed_set.output, HasSubstr("train.momentum must be 0 for optimizer gd"));
  // Resuming the run that was warned about repeats nothing; an override can still warn.
  const auto resumed_warned = run("train --resume " + (dir / "run").string() +
                                  " --set train.steps=8 --set track.extra_steps=[100] --no-report");
  ASSERT_EQ(resumed_warned.code, 0) << resumed_warned.output;
  EXPECT_EQ(count(resumed_warned.output, "condense: warning:"), 1u) << resumed_warned.output;
  EXPECT_THAT(resumed_warned.output,
              HasSubstr("condense: warning: --set track.extra_steps=[100]: track.extra_steps has "
                        "no effect: the run ends at step 8 (train.steps), before step 100"));

  // An experiment warns once, not once per run.
  const fs::path experiment = write(dir, "exp.toml", std::string(kSmall) + R"(
[experiment]
title = "t"
[[experiment.runs]]
label = "a"
[[experiment.runs]]
label = "b"
set = ["train.lr=0.1"]
)");
  const std::string sin = " --set data.sin_dim=3 --out " + (dir / "exp").string();
  const auto ran = run("run " + experiment.string() + sin);
  ASSERT_EQ(ran.code, 0) << ran.output;
  EXPECT_EQ(
      count(ran.output, "condense: warning: --set data.sin_dim=3: data.sin_dim has no effect"), 1u)
      << ran.output;
  EXPECT_THAT(run("run " + experiment.string() + sin + " --quiet").output,
              Not(HasSubstr("condense: warning")));

  // A sweep too, and its workers (whose output goes to logs/) not at all.
  const fs::path sweep = write(dir, "sweep.toml", std::string(kSmall) + R"(
[sweep]
run_reports = false
seeds = 2
)");
  const std::string sweep_args =
      " --workers 2 --threads 1 --set data.sin_dim=3 --out " + (dir / "sweep").string();
  const auto swept = run("sweep " + sweep.string() + sweep_args);
  ASSERT_EQ(swept.code, 0) << swept.output;
  EXPECT_EQ(count(swept.output, "data.sin_dim has no effect"), 1u) << swept.output;
  EXPECT_THAT(condense::read_file(dir / "sweep/logs/seed=0.log"),
              Not(HasSubstr("condense: warning")));
  EXPECT_THAT(run("sweep " + sweep.string() + sweep_args + " --quiet").output,
              Not(HasSubstr("condense: warning")));
}

TEST(CliInput, SweepWorkersAndThreadsAreCountsInRange) {
  const fs::path dir = scratch("sweep_counts");
  const fs::path sweep = write(dir, "sweep.toml", std::string(kSmall) + "[sweep]\nseeds = 1\n");
  struct Case {
    std::string arguments, message;
  };
  const std::vector<Case> cases = {
      {"--workers 0",
       "--workers 0: expected the runs trained at once, a whole number from 1 to 1024"},
      {"--workers -2",
       "--workers -2: expected the runs trained at once, a whole number from 1 to 1024"},
      {"--workers 3x",
       "--workers 3x: expected the runs trained at once, a whole number from 1 to 1024"},
      {"--threads 0",
       "--threads 0: expected the threads of each run, a whole number from 1 to 1024"},
      {"--threads 5000",
       "--threads 5000: expected the threads of each run, a whole number from 1 to 1024"},
  };
  for (const auto& c : cases) {
    const auto r =
        run("sweep " + sweep.string() + " " + c.arguments + " --out " + (dir / "out").string());
    EXPECT_EQ(r.code, 2) << c.arguments << r.output;
    EXPECT_THAT(r.output, HasSubstr("condense: error: " + c.message)) << c.arguments;
    EXPECT_THAT(r.output, Not(HasSubstr("1797693"))) << c.arguments;
    EXPECT_FALSE(fs::exists(dir / "out")) << c.arguments;
  }
}

TEST(CliInput, BenchCountsAreInRange) {
  for (const std::string arguments :
       {"--steps 0", "--repeats 0", "--warmup -1", "--threads 0", "--threads 100000"}) {
    const auto r = run("bench --workload W1 " + arguments);
    EXPECT_EQ(r.code, 2) << arguments << r.output;
    EXPECT_THAT(r.output, HasSubstr("not in range")) << arguments;
    EXPECT_THAT(r.output, Not(HasSubstr("1797693"))) << arguments;
  }
}

TEST(CliInput, CompareLayerNamesALayerOfTheRuns) {
  const fs::path dir = scratch("compare");
  const fs::path config = write(dir, "small.toml", kSmall);
  for (const char* name : {"a", "b"})
    ASSERT_EQ(
        run("train " + config.string() + " --quiet --no-report --out " + (dir / name).string())
            .code,
        0);
  const std::string runs = (dir / "a").string() + " " + (dir / "b").string();
  auto r = run("compare " + runs + " --metric mean_abs_cos --layer conv9 --out " +
               (dir / "cmp").string());
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_THAT(r.output,
              HasSubstr("condense: error: --layer conv9: no run has a layer conv9; the runs "
                        "have conv1, fc1"));
  EXPECT_FALSE(fs::exists(dir / "cmp"));
  r = run("compare " + runs + " --metric train_loss --layer conv1 --out " + (dir / "cmp").string());
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr("--layer conv1: train_loss is not measured per layer"));
  r = run("compare " + runs + " --metric mean_abs_cos --layer conv1 --quiet --out " +
          (dir / "cmp").string());
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_TRUE(fs::exists(dir / "cmp/compare.csv"));
}
