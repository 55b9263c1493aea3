// `condense train --resume`: what a resume may change, and that a refused or damaged resume
// changes nothing in the run directory (docs/run-directory.md, "Resuming").
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>

#include "condense/core/atomic_file.hpp"
#include "run_condense.hpp"

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

namespace {

using condense_test::Result;
using condense_test::run;

// A small, fast run: a two-layer CNN on Gaussian images with teacher labels, full batch.
const char* kConfig = R"(seed = 5
dtype = "float64"
threads = 1

[data]
dataset = "gaussian"
gaussian_shape = [1, 6, 6]
train_size = 40
test_size = 16
target = "binary"
positive_classes = [0]

[model]
conv = [{ channels = 4, kernel = 3, padding = 1 }]
activation = "tanh"

[init]
std = 0.1

[train]
optimizer = "gd"
lr = 0.05
steps = 30
eval_every = 5
)";

class Resume : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("condense_resume_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    config_ = (dir_ / "c.toml").string();
    std::ofstream(config_) << kConfig;
    run_ = dir_ / "run";
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Trains the config into run_ with extra arguments; asserts it succeeds.
  void train(const std::string& extra = "") {
    const Result r = run("train " + config_ + " --quiet --no-report --out " + run_.string() + " " +
                         extra);
    ASSERT_EQ(r.code, 0) << r.output;
  }
  Result resume(const std::string& extra) {
    return run("train --quiet --no-report --resume " + run_.string() + " " + extra);
  }

  // Every file of the run directory and its bytes: what a refused resume must leave alone.
  std::map<std::string, std::string> contents() const {
    std::map<std::string, std::string> files;
    for (const auto& entry : fs::recursive_directory_iterator(run_))
      if (entry.is_regular_file())
        files[fs::relative(entry.path(), run_).string()] = condense::read_file(entry.path());
    return files;
  }

  fs::path dir_, run_;
  std::string config_;
};

// The files that differ between two contents() of a run, by name.
std::vector<std::string> changed(const std::map<std::string, std::string>& before,
                                 const std::map<std::string, std::string>& after) {
  std::vector<std::string> names;
  for (const auto& [name, bytes] : before)
    if (!after.count(name) || after.at(name) != bytes) names.push_back(name);
  for (const auto& [name, bytes] : after)
    if (!before.count(name)) names.push_back(name + " (new)");
  return names;
}

TEST_F(Resume, StepsAtOrBelowTheCurrentStepAreRefusedAndChangeNothing) {
  train("--set train.steps=20");
  const auto before = contents();
  for (const char* steps : {"20", "12", "0"}) {
    const Result r = resume(std::string("--set train.steps=") + steps);
    EXPECT_EQ(r.code, 2) << steps << ": " << r.output;
    if (std::string(steps) == "20") {
      EXPECT_THAT(r.output, HasSubstr("is complete (step 20 of 20): there is nothing to continue"));
    } else if (std::string(steps) == "12") {
      EXPECT_THAT(r.output, HasSubstr("train.steps gives 12 steps, but the run is at step 20"));
    }
  }
  // A plain resume of a complete run has nothing to do either.
  const Result plain = resume("");
  EXPECT_EQ(plain.code, 2);
  EXPECT_THAT(plain.output, HasSubstr("--set train.steps=N with more steps"));
  EXPECT_EQ(changed(before, contents()), std::vector<std::string>{});
  // Extending it works, and the next plain resume is refused again, not a hang.
  const Result extended = resume("--set train.steps=30");
  ASSERT_EQ(extended.code, 0) << extended.output;
  EXPECT_THAT(condense::read_file(run_ / "config.toml"), HasSubstr("steps = 30"));
  EXPECT_EQ(resume("").code, 2);
}

TEST_F(Resume, SettingsThatChangeTheRunAreRefusedByName) {
  train("--set train.steps=10");
  const auto before = contents();
  const Result r = resume("--set model.activation=relu --set train.lr=0.1 --set train.steps=20");
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr("cannot resume"));
  EXPECT_THAT(r.output, HasSubstr("model.activation (\"tanh\" → \"relu\")"));
  EXPECT_THAT(r.output, HasSubstr("train.lr (0.05 → 0.1)"));
  EXPECT_THAT(r.output, Not(HasSubstr("train.steps (")));
  EXPECT_THAT(r.output, HasSubstr("start a new run"));
  for (const char* setting : {"seed=6", "dtype=float32", "init.std=0.2", "data.train_size=30",
                              "train.optimizer=adam", "model.bias=true"}) {
    const Result other = resume(std::string("--set ") + setting + " --set train.steps=20");
    EXPECT_EQ(other.code, 2) << setting << ": " << other.output;
    EXPECT_THAT(other.output, HasSubstr("cannot resume")) << setting;
  }
  // Measure settings would mix two definitions in analysis.csv: analyze recomputes every row.
  const Result threshold = resume("--set track.threshold=0.9 --set train.steps=20");
  EXPECT_EQ(threshold.code, 2);
  EXPECT_THAT(threshold.output, HasSubstr("track.threshold (0.95 → 0.9)"));
  EXPECT_THAT(threshold.output, HasSubstr("condense analyze " + run_.string()));
  EXPECT_EQ(changed(before, contents()), std::vector<std::string>{});
}

TEST_F(Resume, SettingsThatContinueTheRunMayChange) {
  train("--set train.steps=10");
  const Result r = resume("--set train.steps=20 --set train.eval_every=2 "
                          "--set track.snapshots=every:3 --set track.save_cosines=false "
                          "--set threads=2");
  ASSERT_EQ(r.code, 0) << r.output;
  const std::string index = condense::read_file(run_ / "snapshots/index.csv");
  EXPECT_THAT(index, HasSubstr("12,step_12\n15,step_15\n18,step_18\n20,step_20\n"));
  EXPECT_THAT(condense::read_file(run_ / "metrics.csv"), HasSubstr("\n14,"));
}

TEST_F(Resume, AConfigFileGivenWithResumeMustMatchTheRun) {
  train("--set train.steps=10");
  // The same file, extended: allowed.
  Result r = run("train " + config_ + " --quiet --no-report --resume " + run_.string() +
                 " --set train.steps=15");
  ASSERT_EQ(r.code, 0) << r.output;
  // Another file: refused, naming what differs, not silently ignored.
  std::string other = kConfig;
  other.replace(other.find("lr = 0.05"), 9, "lr = 0.02");
  std::ofstream(dir_ / "other.toml") << other;
  r = run("train " + (dir_ / "other.toml").string() + " --quiet --resume " + run_.string() +
          " --set train.steps=20");
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr("train.lr (0.05 → 0.02)"));
}

TEST_F(Resume, ContradictoryOptionsAreRefused) {
  train("--set train.steps=10");
  Result r = resume("--out " + (dir_ / "elsewhere").string());
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.output, HasSubstr("name two run directories"));
  r = resume("--overwrite");
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.output, HasSubstr("--overwrite and --resume contradict each other"));
  EXPECT_FALSE(fs::exists(dir_ / "elsewhere"));
}

TEST_F(Resume, ACosineScheduleCannotBeExtended) {
  train("--set train.steps=10 --set train.schedule=cosine");
  const Result r = resume("--set train.steps=20");
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr("train.schedule = \"cosine\""));
}

// The checkpoint of an interrupted run: a run of 30 steps cut at step 10 by a resume limit is
// complete, so the tests make one with a checkpoint before its end by lowering the saved total.
class DamagedRun : public Resume {
 protected:
  void SetUp() override {
    Resume::SetUp();
    train("--set train.steps=10");
    // As an interrupted 30-step run would leave it: everything up to step 10, total 30.
    std::string config = condense::read_file(run_ / "config.toml");
    config.replace(config.find("steps = 10"), 10, "steps = 30");
    condense::write_file_atomic(run_ / "config.toml", config);
  }
  fs::path checkpoint() const { return run_ / "checkpoint/state.bin"; }
};

TEST_F(DamagedRun, AnUndamagedRunResumes) {
  const Result r = resume("");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_TRUE(fs::exists(run_ / "snapshots/step_30"));
}

TEST_F(DamagedRun, AnOverwrittenCheckpointIsDetectedAndNotLoaded) {
  std::string bytes = condense::read_file(checkpoint());
  ASSERT_GT(bytes.size(), 600u);
  // Random bytes over the parameters, the length unchanged: only the checksum can tell.
  std::srand(7);
  for (std::size_t i = 100; i < bytes.size() - 100; ++i) bytes[i] = char(std::rand());
  condense::write_file_atomic(checkpoint(), bytes);
  const auto before = contents();
  const Result r = resume("");
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr("state.bin is damaged: its checksum does not match"));
  EXPECT_EQ(changed(before, contents()), std::vector<std::string>{});
}

// A version-2 checkpoint with its header changed and the checksum made to fit: the fields are
// checked on their own too.
void rewrite_with_checksum(const fs::path& path, std::size_t at, std::int64_t value) {
  std::string bytes = condense::read_file(path);
  std::memcpy(bytes.data() + at, &value, sizeof(value));
  bytes.resize(bytes.size() - 4);
  const std::uint32_t crc = std::uint32_t(
      crc32_z(crc32_z(0, nullptr, 0), reinterpret_cast<const Bytef*>(bytes.data()), bytes.size()));
  bytes.append(reinterpret_cast<const char*>(&crc), 4);
  condense::write_file_atomic(path, bytes);
}

TEST_F(DamagedRun, CheckpointStepsOutsideTheRunAreRefused) {
  rewrite_with_checksum(checkpoint(), 16, -3);  // step, after magic, version and scalar size
  Result r = resume("");
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr("state.bin is damaged: step -3"));
  rewrite_with_checksum(checkpoint(), 16, 31);
  rewrite_with_checksum(checkpoint(), 24, 10);  // optimizer steps ≤ step
  r = resume("");
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr("the checkpoint is at step 31, beyond the run's 30 steps"));
}

TEST_F(DamagedRun, AVersion1CheckpointWithoutChecksumIsStillRead) {
  std::string bytes = condense::read_file(checkpoint());
  bytes.resize(bytes.size() - 4);
  const std::uint32_t version = 1;
  std::memcpy(bytes.data() + 8, &version, 4);
  condense::write_file_atomic(checkpoint(), bytes);
  const Result r = resume("");
  ASSERT_EQ(r.code, 0) << r.output;
}

TEST_F(DamagedRun, DamagedIndexAndMetricsAreNamedByLine) {
  const fs::path index = run_ / "snapshots/index.csv";
  const std::string good_index = condense::read_file(index);
  condense::write_file_atomic(index, "step,path\n0,step_0\nx1,step_1\n");
  Result r = resume("");
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr("index.csv:3: column step is \"x1\", expected an integer"));
  condense::write_file_atomic(index, "step,path\n0,../../etc\n");
  r = resume("");
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr("index.csv:2: the path of step 0 is \"../../etc\""));
  condense::write_file_atomic(index, good_index);

  const fs::path metrics = run_ / "metrics.csv";
  std::string text = condense::read_file(metrics);
  condense::write_file_atomic(metrics, text.substr(0, text.size() - 9));  // the last line cut
  r = resume("");
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr("metrics.csv:"));
  EXPECT_THAT(r.output, HasSubstr("the line is cut short"));
  const std::size_t second_line = text.find('\n') + 1;
  text[second_line] = 'z';
  condense::write_file_atomic(metrics, text);
  r = resume("");
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr("metrics.csv:2: column step is \"z\""));
}

// prediction.json is read field by field when the resumed run measures alignment again: a field of
// the wrong type is named, with the file, and nothing of the run changes.
TEST_F(DamagedRun, ADamagedPredictionIsNamedByField) {
  const fs::path prediction = run_ / "prediction.json";
  ASSERT_TRUE(fs::exists(prediction));
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"direction": 3})", "prediction.json: \"direction\" is 3, expected a JSON object"},
      {R"({"direction": {"v1_bias": "none"}})",
       "prediction.json (direction): \"v1_bias\" is \"none\", expected a number"},
      {"[]", "prediction.json is [], expected a JSON object"},
      {std::string(5000, '[') + std::string(5000, ']'), "nests more than 8 levels deep"},
      // A number beyond double's range once escaped as nlohmann's out_of_range: exit 1.
      {R"({"direction": {"v1_bias": 1e999}})", "prediction.json: not valid JSON"},
  };
  for (const auto& [text, expected] : cases) {
    condense::write_file_atomic(prediction, text);
    const auto before = contents();
    const Result r = resume("--set train.steps=40");
    EXPECT_EQ(r.code, 2) << r.output;
    EXPECT_THAT(r.output, HasSubstr(expected)) << text.substr(0, 40);
    EXPECT_EQ(changed(before, contents()), std::vector<std::string>{}) << text.substr(0, 40);
  }
}

}  // namespace
