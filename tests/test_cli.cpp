// End-to-end tests of `condense train` and `condense config`: the binary is run as a user runs
// it, and its exit codes, messages and run directories are checked.
#include <gtest/gtest.h>
#include <gmock/gmock.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "condense/core/atomic_file.hpp"
#include "condense/core/npy.hpp"
#include "run_condense.hpp"

namespace fs = std::filesystem;
using ::testing::HasSubstr;

namespace {

using condense_test::Result;
using condense_test::run;

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("condense_cli_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string write_config(const std::string& name, const std::string& text) {
    const fs::path path = dir_ / name;
    std::ofstream(path) << text;
    return path.string();
  }

  fs::path dir_;
};

// A small, fast run: a two-layer CNN on Gaussian images with teacher labels.
const char* kSmallConfig = R"(seed = 3
dtype = "float64"
threads = 1

[data]
dataset = "gaussian"
gaussian_shape = [1, 6, 6]
train_size = 48
test_size = 16
target = "binary"
positive_classes = [0]

[model]
conv = [{ channels = 4, kernel = 3, padding = 1 }]
activation = "tanh"

[init]
std = 0.1

[train]
optimizer = "sgd"
momentum = 0.9
batch_size = 16
lr = 0.05
steps = 40
)";

std::string bytes_of(const fs::path& path) { return condense::read_file(path); }

// Starts `condense train ARGS` in a child process (output discarded); returns its pid.
pid_t start_training(const std::string& arguments) {
  const pid_t child = fork();
  if (child == 0) {
    const std::string command =
        std::string("exec ") + CONDENSE_BINARY + " train " + arguments + " > /dev/null 2>&1";
    execl("/bin/sh", "sh", "-c", command.c_str(), nullptr);
    _exit(127);
  }
  return child;
}

}  // namespace

TEST_F(CliTest, ConfigListsEveryKeyWithDefault) {
  const Result r = run("config");
  EXPECT_EQ(r.code, 0);
  EXPECT_THAT(r.output, HasSubstr("train.lr"));
  EXPECT_THAT(r.output, HasSubstr("init.gamma"));
  EXPECT_THAT(r.output, HasSubstr("track.snapshots"));
}

TEST_F(CliTest, UnknownKeyNamesFileLineAndSuggestion) {
  const std::string config = write_config("bad.toml", "seed = 1\n[train]\nlrate = 0.1\n");
  const Result r = run("train " + config + " --out " + (dir_ / "run").string());
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.output, HasSubstr("bad.toml:3"));
  EXPECT_THAT(r.output, HasSubstr("unknown key train.lrate"));
  EXPECT_THAT(r.output, HasSubstr("did you mean train.lr?"));
  EXPECT_FALSE(fs::exists(dir_ / "run"));
}

TEST_F(CliTest, WrongTypeNamesKeyAndLine) {
  const std::string config = write_config("bad.toml", "[train]\n\nlr = \"fast\"\n");
  const Result r = run("train " + config + " --out " + (dir_ / "run").string());
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.output, HasSubstr("bad.toml:3"));
  EXPECT_THAT(r.output, HasSubstr("train.lr must be a number, got \"fast\""));
}

TEST_F(CliTest, OutOfRangeValueIsRejected) {
  const std::string config = write_config("bad.toml", "[data]\ntrain_size = -3\n");
  const Result r = run("train " + config + " --out " + (dir_ / "run").string());
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.output, HasSubstr("bad.toml:2: data.train_size must be an integer ≥ 0"));
}

TEST_F(CliTest, SyntaxErrorNamesLine) {
  const std::string config = write_config("bad.toml", "[train\nlr = 1\n");
  const Result r = run("train " + config);
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.output, HasSubstr("bad.toml:1"));
}

TEST_F(CliTest, SetOverridesAndRejectsUnknownKeys) {
  Result r = run("config --set model.activation=relu --set init.std=1e-8");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("activation = 'relu'"));
  EXPECT_THAT(r.output, HasSubstr("std = 1e-08"));
  r = run("config --set model.activaton=relu");
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.output, HasSubstr("--set model.activaton=relu: unknown key model.activaton"));
  EXPECT_THAT(r.output, HasSubstr("did you mean model.activation?"));
  r = run("config --set model.activation=swish");
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.output, HasSubstr("activation \"swish\" is not known"));
}

TEST_F(CliTest, ImpossibleModelIsRejectedBeforeTraining) {
  const std::string config = write_config("c.toml", kSmallConfig);
  const Result r = run("train " + config + " --out " + (dir_ / "run").string() +
                       " --set 'model.conv=[{channels=4, kernel=9}]'");
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.output, HasSubstr("conv1: kernel 9 is larger than the padded input"));
}

TEST_F(CliTest, TrainWritesRunDirectory) {
  const std::string config = write_config("c.toml", kSmallConfig);
  const fs::path out = dir_ / "run";
  const Result r = run("train " + config + " --quiet --out " + out.string());
  ASSERT_EQ(r.code, 0) << r.output;
  for (const char* file : {"config.toml", "metrics.csv", "summary.json", "snapshots/index.csv",
                           "snapshots/step_0/conv1.weight.npy", "snapshots/step_40/fc1.weight.npy",
                           "checkpoint/state.bin"})
    EXPECT_TRUE(fs::exists(out / file)) << file;
  const std::string metrics = bytes_of(out / "metrics.csv");
  EXPECT_THAT(metrics, HasSubstr("step,epoch,time_s,lr,train_loss,train_acc,test_loss,test_acc\n"));
  const condense::NpyArray weight = condense::read_npy(out / "snapshots/step_0/conv1.weight.npy");
  EXPECT_EQ(weight.shape, (std::vector<std::int64_t>{4, 1, 3, 3}));
  // The resolved config reruns to the same weights.
  const Result again =
      run("train " + (out / "config.toml").string() + " --quiet --out " + (dir_ / "again").string());
  ASSERT_EQ(again.code, 0) << again.output;
  EXPECT_EQ(bytes_of(out / "snapshots/step_40/conv1.weight.npy"),
            bytes_of(dir_ / "again/snapshots/step_40/conv1.weight.npy"));
}

TEST_F(CliTest, ExistingRunDirectoryIsRefusedUnlessOverwrite) {
  const std::string config = write_config("c.toml", kSmallConfig);
  const fs::path out = dir_ / "run";
  ASSERT_EQ(run("train " + config + " --quiet --out " + out.string()).code, 0);
  const std::string before = bytes_of(out / "metrics.csv");
  Result r = run("train " + config + " --quiet --out " + out.string());
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.output, HasSubstr("already exists"));
  EXPECT_EQ(bytes_of(out / "metrics.csv"), before);
  r = run("train " + config + " --quiet --overwrite --out " + out.string());
  EXPECT_EQ(r.code, 0) << r.output;
  // A folder that is not a run directory is never deleted.
  fs::create_directories(dir_ / "precious");
  std::ofstream(dir_ / "precious" / "notes.txt") << "keep";
  r = run("train " + config + " --quiet --overwrite --out " + (dir_ / "precious").string());
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(fs::exists(dir_ / "precious" / "notes.txt"));
}

TEST_F(CliTest, UnwritableOutputFolderIsReported) {
  const std::string config = write_config("c.toml", kSmallConfig);
  const Result r = run("train " + config + " --quiet --out /proc/condense-run");
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.output, HasSubstr("/proc/condense-run"));
}

TEST_F(CliTest, MissingDatasetFolderIsReported) {
  const std::string config = write_config("c.toml", kSmallConfig);
  const Result r = run("train " + config + " --quiet --out " + (dir_ / "run").string() +
                       " --set data.dataset=mnist --set data.path=/nonexistent/mnist");
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.output, HasSubstr("/nonexistent/mnist"));
}

TEST_F(CliTest, ResumedRunMatchesUninterruptedBitForBit) {
  const std::string config = write_config("c.toml", kSmallConfig);
  ASSERT_EQ(run("train " + config + " --quiet --out " + (dir_ / "full").string()).code, 0);
  ASSERT_EQ(run("train " + config + " --quiet --set train.steps=17 --out " +
                (dir_ / "part").string()).code, 0);
  const Result r = run("train --quiet --resume " + (dir_ / "part").string() +
                       " --set train.steps=40");
  ASSERT_EQ(r.code, 0) << r.output;
  for (const char* name : {"conv1.weight.npy", "fc1.weight.npy"})
    EXPECT_EQ(bytes_of(dir_ / "full/snapshots/step_40" / name),
              bytes_of(dir_ / "part/snapshots/step_40" / name)) << name;
}

TEST_F(CliTest, SigtermCheckpointsAndResumes) {
  const std::string config = write_config("c.toml", kSmallConfig);
  const std::string steps = " --set train.steps=4000 --set track.snapshots=every:500";
  ASSERT_EQ(run("train " + config + " --quiet" + steps + " --out " + (dir_ / "full").string()).code,
            0);
  const fs::path out = dir_ / "part";
  const pid_t child = start_training(config + " --quiet" + steps + " --out " + out.string());
  // Wait for training to be under way, then stop it.
  for (int i = 0; i < 400 && !fs::exists(out / "checkpoint/state.bin"); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  kill(child, SIGTERM);
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  if (WEXITSTATUS(status) == 0) GTEST_FAIL() << "training finished before SIGTERM arrived";
  EXPECT_EQ(WEXITSTATUS(status), 130);
  const std::string summary = bytes_of(out / "summary.json");
  EXPECT_THAT(summary, HasSubstr("\"status\": \"interrupted\""));
  // An interrupted run still gets its report, which says so.
  EXPECT_THAT(bytes_of(out / "report.html"), HasSubstr("the run's status is &quot;interrupted&quot;"));
  const Result r = run("train --quiet --resume " + out.string());
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(bytes_of(dir_ / "full/snapshots/step_4000/conv1.weight.npy"),
            bytes_of(out / "snapshots/step_4000/conv1.weight.npy"));
}

// A run killed outright resumes from its last checkpoint (the first snapshot's, in a run this
// short: checkpoints at snapshot steps are at least 30 s apart) and ends with the same bits.
TEST_F(CliTest, SigkilledRunResumesFromLastCheckpoint) {
  const std::string config = write_config("c.toml", kSmallConfig);
  const std::string steps = " --set train.steps=4000 --set track.snapshots=every:500";
  ASSERT_EQ(run("train " + config + " --quiet" + steps + " --out " + (dir_ / "full").string()).code,
            0);
  const fs::path out = dir_ / "part";
  const pid_t child = start_training(config + " --quiet" + steps + " --out " + out.string());
  for (int i = 0; i < 1000 && !fs::exists(out / "snapshots/step_1000/conv1.weight.npy"); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  kill(child, SIGKILL);
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status)) << "training finished before SIGKILL arrived";
  const Result r = run("train --quiet --resume " + out.string());
  ASSERT_EQ(r.code, 0) << r.output;
  for (const char* step : {"step_1000", "step_4000"})
    EXPECT_EQ(bytes_of(dir_ / "full/snapshots" / step / "conv1.weight.npy"),
              bytes_of(out / "snapshots" / step / "conv1.weight.npy")) << step;
  EXPECT_EQ(bytes_of(dir_ / "full/metrics.csv").substr(0, 40),
            bytes_of(out / "metrics.csv").substr(0, 40));
  EXPECT_EQ(bytes_of(dir_ / "full/snapshots/index.csv"), bytes_of(out / "snapshots/index.csv"));
}

// The steps of metrics.csv and whether their test columns are filled.
std::vector<std::pair<long, bool>> metrics_rows(const fs::path& run_dir) {
  std::vector<std::pair<long, bool>> rows;
  std::istringstream in(bytes_of(run_dir / "metrics.csv"));
  std::string line;
  std::getline(in, line);
  while (std::getline(in, line)) {
    std::vector<std::string> fields;
    std::stringstream ls(line);
    for (std::string f; std::getline(ls, f, ',');) fields.push_back(f);
    rows.emplace_back(std::stol(fields.at(0)), fields.size() > 6 && !fields[6].empty());
  }
  return rows;
}

// Snapshot steps add a metrics row only where it costs nothing (a full-batch step's own loss),
// unless track.evaluate_at_snapshots asks for evaluations there.
TEST_F(CliTest, SnapshotStepsAddMetricsRowsOnlyWhereFree) {
  const std::string config = write_config("c.toml", kSmallConfig);
  auto train = [&](const std::string& name, const std::string& settings) {
    const Result r = run("train " + config + " --quiet --no-report --set train.steps=40" +
                         settings + " --out " + (dir_ / name).string());
    EXPECT_EQ(r.code, 0) << r.output;
    return metrics_rows(dir_ / name);
  };
  using Rows = std::vector<std::pair<long, bool>>;
  const Rows grid = {{0, true}, {10, true}, {20, true}, {30, true}, {40, true}};
  // Mini-batch: the evaluation grid only.
  EXPECT_EQ(train("minibatch", ""), grid);
  // Asked for: every snapshot step (0–20, 22, 25, 28, 32, 35, 40 in the log schedule), evaluated.
  const Rows asked = train("asked", " --set track.evaluate_at_snapshots=true");
  EXPECT_GT(asked.size(), 20u);
  for (const auto& [step, tested] : asked) EXPECT_TRUE(tested) << step;
  EXPECT_EQ(asked[1].first, 1);
  // Full batch: every snapshot step, with a test evaluation only on the grid.
  const Rows full = train("full", " --set train.batch_size=0");
  EXPECT_EQ(full.size(), asked.size());
  for (const auto& [step, tested] : full) EXPECT_EQ(tested, step % 10 == 0) << step;
}

// Every number of a metrics row belongs to the weights of its step. From weights this small the
// outputs are ~1e-17, so at step 0 a 10-class cross-entropy is ln 10 to the last digits on any
// split; one step of Adam moves it by about 1e-6.
TEST_F(CliTest, TestMetricsAreThoseOfTheRowsStep) {
  const std::string config = write_config("c.toml", kSmallConfig);
  const Result r = run("train " + config + " --quiet --no-report --out " + (dir_ / "run").string() +
                       " --set data.target=class --set data.positive_classes=[] "
                       "--set data.gaussian_classes=10 --set train.loss=cross-entropy "
                       "--set train.optimizer=adam --set train.lr=0.05 --set train.batch_size=0 "
                       "--set train.momentum=0 --set init.std=1e-9 --set train.eval_every=1 "
                       "--set train.steps=3");
  ASSERT_EQ(r.code, 0) << r.output;
  std::istringstream in(bytes_of(dir_ / "run/metrics.csv"));
  std::string line;
  std::getline(in, line);
  std::vector<std::vector<std::string>> rows;
  while (std::getline(in, line)) {
    std::vector<std::string> fields;
    std::stringstream ls(line);
    for (std::string f; std::getline(ls, f, ',');) fields.push_back(f);
    rows.push_back(fields);
  }
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_NEAR(std::stod(rows[0].at(4)), std::log(10.0), 1e-12);  // train_loss
  EXPECT_NEAR(std::stod(rows[0].at(6)), std::log(10.0), 1e-12);  // test_loss
  EXPECT_GT(std::abs(std::stod(rows[1].at(6)) - std::log(10.0)), 1e-8);
  // The last row is evaluated after the last step; the row before it, one step earlier.
  EXPECT_NE(rows[2].at(6), rows[3].at(6));
}

// Between evaluations a mini-batch run has no training loss of the whole split: the progress line
// shows the mean loss of the epoch's batches so far, and says so, instead of "loss 0".
TEST_F(CliTest, MiniBatchProgressShowsTheEpochMeanBetweenEvaluations) {
  const std::string config = write_config("c.toml", kSmallConfig);
  // On a terminal (script(1) gives the run one) the line is redrawn every quarter second.
  const Result r = condense_test::run_shell(
      "script -qec \"" + std::string(CONDENSE_BINARY) + " train " + config +
      " --no-report --out " + (dir_ / "run").string() +
      " --set train.batch_size=8 --set train.steps=150000 --set train.eval_every=100000 "
      "--set track.snapshots=none\" /dev/null");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr(" (epoch mean)"));
  EXPECT_THAT(r.output, ::testing::Not(HasSubstr("loss 0 ")));
  EXPECT_THAT(r.output, HasSubstr("step 150000/150000  loss "));
}

TEST_F(CliTest, DivergenceStopsWithStep) {
  const std::string config = write_config("c.toml", kSmallConfig);
  const Result r = run("train " + config + " --quiet --set train.lr=1e30 --set init.std=10 --out " +
                       (dir_ / "run").string());
  EXPECT_EQ(r.code, 3) << r.output;
  EXPECT_THAT(r.output, HasSubstr("diverged at step"));
  EXPECT_THAT(bytes_of(dir_ / "run/summary.json"), HasSubstr("\"status\": \"diverged\""));
  EXPECT_THAT(bytes_of(dir_ / "run/report.html"), HasSubstr("the run's status is &quot;diverged&quot;"));
}

TEST_F(CliTest, ResumeWithoutCheckpointIsRejected) {
  const Result r = run("train --resume " + (dir_ / "nothing").string());
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.output, HasSubstr("is not a run directory"));
}

// A disk that fills up mid-run: a clear message naming the path, exit code 2, and no
// half-written file left behind. The small disk is a tmpfs mounted for the test (CI runs as root).
// The disk estimate refuses the run first; --no-disk-check lets it fill the disk.
TEST_F(CliTest, FullDiskIsReportedAndLeavesNoPartialFiles) {
  const fs::path disk = dir_ / "small_disk";
  fs::create_directories(disk);
  const std::string mount = "mount -t tmpfs -o size=96k tmpfs " + disk.string();
  ASSERT_EQ(std::system(mount.c_str()), 0) << "cannot mount a small tmpfs (the test needs root)";
  const std::string config = write_config("c.toml", kSmallConfig);
  const std::string train = "train " + config + " --quiet --set train.steps=4000 "
                            "--set track.snapshots=every:5 --out " + (disk / "run").string();
  Result r = run(train);
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr("of disk, but 98.3 kB are free where " + (disk / "run").string()));
  EXPECT_FALSE(fs::exists(disk / "run"));
  r = run(train + " --no-disk-check");
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr("No space left on device"));
  EXPECT_THAT(r.output, HasSubstr((disk / "run").string()));
  for (const auto& entry : fs::recursive_directory_iterator(disk))
    EXPECT_NE(entry.path().extension(), ".tmp") << entry.path();
  // What was written before the disk filled up is whole.
  EXPECT_NO_THROW(condense::read_npy(disk / "run/snapshots/step_0/conv1.weight.npy"));
  EXPECT_THAT(bytes_of(disk / "run/config.toml"), HasSubstr("[train]"));
  std::system(("umount " + disk.string()).c_str());
}

// docs/config.md lists every key: it must not drift from the keys the program knows.
TEST_F(CliTest, ConfigDocumentationListsEveryKey) {
  const Result r = run("config --markdown");
  ASSERT_EQ(r.code, 0);
  const std::string docs = bytes_of(fs::path(CONDENSE_SOURCE_DIR) / "docs/config.md");
  EXPECT_THAT(docs, HasSubstr(r.output))
      << "docs/config.md is out of date: replace its key table with `condense config --markdown`";
}

TEST_F(CliTest, NonFiniteNumbersAreRejected) {
  Result r = run("config --set train.momentum=nan");
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.output, HasSubstr("train.momentum must be a finite number, got nan"));
  r = run("config --set init.std=inf");
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.output, HasSubstr("init.std must be a finite number"));
}
