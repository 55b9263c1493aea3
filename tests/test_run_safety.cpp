// What condense writes, and where: outputs never replace what is not a regular file, --overwrite
// replaces only run directories condense made, and a run that cannot fit in memory is refused
// before anything is written (docs/run-directory.md, "Memory and disk").
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>

#include "condense/core/atomic_file.hpp"
#include "condense/core/error.hpp"
#include "condense/core/npy.hpp"
#include "run_condense.hpp"

namespace fs = std::filesystem;
using ::testing::HasSubstr;

namespace {

using condense_test::Result;
using condense_test::run;

class RunSafety : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("condense_safety_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // A character device like /dev/null, made in the test's folder (the tests run as root).
  fs::path make_device(const std::string& name) {
    const fs::path path = dir_ / name;
    if (::mknod(path.c_str(), S_IFCHR | 0666, makedev(1, 3)) != 0)
      ADD_FAILURE() << "cannot make a device node (the test needs root): " << std::strerror(errno);
    return path;
  }
  fs::path make_fifo(const std::string& name) {
    const fs::path path = dir_ / name;
    EXPECT_EQ(::mkfifo(path.c_str(), 0644), 0) << std::strerror(errno);
    return path;
  }

  fs::path dir_;
};

// `condense ARGUMENTS` with an environment variable set ("NAME=value").
Result run_shell_with_env(const std::string& assignment, const std::string& arguments) {
  return condense_test::run_shell(assignment + " " + CONDENSE_BINARY + " " + arguments);
}

std::string quickstart() { return std::string(CONDENSE_SOURCE_DIR) + "/configs/quickstart.toml"; }

TEST_F(RunSafety, WritesNeverReplaceDevicesFifosOrDirectories) {
  const fs::path device = make_device("device");
  const fs::path fifo = make_fifo("fifo");
  fs::create_directory(dir_ / "folder");
  for (const fs::path& path : {device, fifo, dir_ / "folder"}) {
    try {
      condense::write_file_atomic(path, "data");
      ADD_FAILURE() << "no error writing " << path;
    } catch (const condense::IoError& e) {
      EXPECT_THAT(e.what(), HasSubstr("condense writes only regular files")) << path;
    }
  }
  EXPECT_TRUE(fs::is_character_file(device));
  EXPECT_TRUE(fs::is_fifo(fifo));
  EXPECT_TRUE(fs::is_directory(dir_ / "folder"));
  // A link to one of them is refused too, and stays a link.
  fs::create_symlink(device, dir_ / "link_to_device");
  EXPECT_THROW(condense::write_file_atomic(dir_ / "link_to_device", "data"), condense::IoError);
  EXPECT_TRUE(fs::is_symlink(dir_ / "link_to_device"));
  EXPECT_TRUE(fs::is_character_file(device));
}

TEST_F(RunSafety, WritesGoThroughASymbolicLinkToAFile) {
  condense::write_file_atomic(dir_ / "target.json", "old");
  fs::create_symlink("target.json", dir_ / "link.json");
  condense::write_file_atomic(dir_ / "link.json", "new");
  EXPECT_TRUE(fs::is_symlink(dir_ / "link.json"));
  EXPECT_EQ(condense::read_file(dir_ / "target.json"), "new");
  // A dangling link is refused: what it names may be a device tomorrow.
  fs::create_symlink("missing.json", dir_ / "dangling.json");
  EXPECT_THROW(condense::write_file_atomic(dir_ / "dangling.json", "x"), condense::IoError);
  EXPECT_TRUE(fs::is_symlink(dir_ / "dangling.json"));
  EXPECT_FALSE(fs::exists(dir_ / "missing.json"));
}

TEST_F(RunSafety, CommandOutputsNeverReplaceDevicesOrFifos) {
  const std::vector<double> weights{1, 0, 0, 1, 1, 0};
  fs::create_directory(dir_ / "weights");
  condense::write_npy(dir_ / "weights/fc1.weight.npy", weights.data(), {3, 2});
  const std::string analyze = "analyze --quiet --weights " + (dir_ / "weights").string() + " --out ";
  const fs::path device = make_device("full");
  const fs::path fifo = make_fifo("pipe");
  for (const fs::path& out : {device, fifo}) {
    const Result r = run(analyze + out.string());
    EXPECT_EQ(r.code, 2) << r.output;
    EXPECT_THAT(r.output, HasSubstr("condense writes only regular files"));
  }
  EXPECT_TRUE(fs::is_character_file(device));
  EXPECT_TRUE(fs::is_fifo(fifo));
  // Through a link to a file: the file gets the measures, the link stays.
  condense::write_file_atomic(dir_ / "measures.json", "");
  fs::create_symlink(dir_ / "measures.json", dir_ / "latest.json");
  const Result r = run(analyze + (dir_ / "latest.json").string());
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_TRUE(fs::is_symlink(dir_ / "latest.json"));
  EXPECT_THAT(condense::read_file(dir_ / "measures.json"), HasSubstr("fc1"));
  // A run directory cannot be a device or a file.
  for (const fs::path& out : {device, dir_ / "measures.json"}) {
    const Result t = run("train " + quickstart() + " --quiet --overwrite --out " + out.string());
    EXPECT_EQ(t.code, 2) << t.output;
    EXPECT_THAT(t.output, HasSubstr("exists and is not a directory"));
  }
  EXPECT_TRUE(fs::is_character_file(device));
}

TEST_F(RunSafety, OverwriteReplacesOnlyRunDirectoriesCondenseMade) {
  const std::string train = "train " + quickstart() +
                            " --quiet --no-report --set train.steps=3 --set data.train_size=20 "
                            "--set data.test_size=20 --overwrite --out ";
  // What a run that failed at once leaves: its marker (and the snapshots folder).
  fs::create_directories(dir_ / "failed/snapshots");
  condense::write_file_atomic(dir_ / "failed/.condense-run", "");
  Result r = run(train + (dir_ / "failed").string());
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_TRUE(fs::exists(dir_ / "failed/snapshots/step_3"));
  // A folder that only happens to hold a config.toml is somebody's project: refused, kept.
  fs::create_directories(dir_ / "project");
  condense::write_file_atomic(dir_ / "project/config.toml", "mine");
  r = run(train + (dir_ / "project").string());
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr("is not a condense run directory"));
  EXPECT_EQ(condense::read_file(dir_ / "project/config.toml"), "mine");
  // A link to a run directory: --overwrite would replace the link; refused, link and run kept.
  fs::create_directory_symlink(dir_ / "failed", dir_ / "link");
  r = run(train + (dir_ / "link").string());
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr("is a symbolic link"));
  EXPECT_TRUE(fs::is_symlink(dir_ / "link"));
  EXPECT_TRUE(fs::exists(dir_ / "failed/snapshots/step_3"));
}

// The peak resident memory of a child running the condense command line `arguments`, in bytes.
std::uint64_t peak_memory(const std::string& arguments, int* code) {
  const pid_t child = fork();
  if (child == 0) {
    const std::string command =
        std::string("exec ") + CONDENSE_BINARY + " " + arguments + " > /dev/null 2>&1";
    execl("/bin/sh", "sh", "-c", command.c_str(), nullptr);
    _exit(127);
  }
  int status = 0;
  struct rusage usage {};
  wait4(child, &status, 0, &usage);
  *code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return std::uint64_t(usage.ru_maxrss) * 1024;
}

// The "memory: about X UNIT" line of --dry-run, in bytes.
// The bytes of a dry run's line "<what>: about 1.5 MB (...)".
double estimated_bytes(const std::string& dry_run_output, const std::string& what) {
  std::smatch match;
  const std::regex line("(^|\\n)" + what + ": about ([0-9.]+) (bytes|kB|MB|GB)");
  if (!std::regex_search(dry_run_output, match, line)) {
    ADD_FAILURE() << "no " << what << " line in:\n" << dry_run_output;
    return 0;
  }
  const double scale = match[3] == "kB" ? 1e3 : match[3] == "MB" ? 1e6 : match[3] == "GB" ? 1e9 : 1;
  return std::stod(match[2]) * scale;
}

TEST_F(RunSafety, DryRunDescribesTheRunAndWritesNothing) {
  const fs::path out = dir_ / "run";
  const Result r = run("train " + quickstart() + " --dry-run --out " + out.string());
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("conv1: Conv2d(1 -> 16"));
  // 16 kernels 1×3×3 and a readout of 16·28·28 weights (no biases).
  EXPECT_THAT(r.output, HasSubstr("parameters: 12688 (float64"));
  EXPECT_THAT(r.output, HasSubstr("steps: 500"));
  EXPECT_THAT(r.output, HasSubstr("disk: about"));
  EXPECT_THAT(r.output, HasSubstr("(new)"));
  EXPECT_FALSE(fs::exists(out));
}

TEST_F(RunSafety, ARunThatCannotFitIsRefusedBeforeAnythingIsWritten) {
  const fs::path out = dir_ / "run";
  const auto started = std::chrono::steady_clock::now();
  Result r = run("train " + quickstart() + " --quiet --out " + out.string() +
                 " --set 'model.conv=[{channels=100000,kernel=3,padding=1}]'");
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr("the run needs about"));
  EXPECT_THAT(r.output, HasSubstr("are available on this machine"));
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count(), 20);
  EXPECT_FALSE(fs::exists(out));
  // A cap set by the user counts as the machine's memory; --no-memory-check trains anyway.
  const std::string small = "train " + quickstart() +
                            " --quiet --no-report --set train.steps=2 --set data.train_size=20 "
                            "--set data.test_size=20 --out " + out.string();
  r = run_shell_with_env("CONDENSE_MEMORY_LIMIT=1000", small);
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr("but 1 kB are available"));
  EXPECT_FALSE(fs::exists(out));
  r = run_shell_with_env("CONDENSE_MEMORY_LIMIT=1000", small + " --no-memory-check");
  EXPECT_EQ(r.code, 0) << r.output;
  r = run_shell_with_env("CONDENSE_MEMORY_LIMIT=lots", small + " --overwrite");
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr("CONDENSE_MEMORY_LIMIT = \"lots\""));
}

TEST_F(RunSafety, TheMemoryEstimateBoundsWhatARunTakes) {
  // Three families at sizes where their own memory dominates the program's: the estimate must
  // cover the measured peak and not overstate it by more than half.
  const std::vector<std::string> settings = {
      // the two-layer CNN, fused, 64 kernels
      "--set 'model.conv=[{channels=64,kernel=3,padding=1}]' --set data.train_size=1000",
      // a multi-layer CNN with pooling, Adam, float32
      "--set 'model.conv=[{channels=32,kernel=3,padding=1,pool=\"max2\"},{channels=32,kernel=3,"
      "padding=1}]' --set 'model.hidden=[128]' --set train.optimizer=adam --set train.lr=1e-3 "
      "--set dtype=float32 --set data.train_size=1000",
      // a wide FC net, mini-batch SGD with momentum
      "--set 'model.conv=[]' --set 'model.hidden=[1024,1024]' --set train.optimizer=sgd "
      "--set train.momentum=0.9 --set train.batch_size=500 --set data.train_size=1000",
  };
  for (const std::string& setting : settings) {
    const std::string base = "train " + quickstart() + " --set train.steps=3 " + setting;
    const Result dry = run(base + " --dry-run");
    ASSERT_EQ(dry.code, 0) << dry.output;
    const double estimate = estimated_bytes(dry.output, "memory");
    int code = 0;
    fs::remove_all(dir_ / "run");
    const double peak = double(peak_memory(
        base + " --quiet --no-report --out " + (dir_ / "run").string(), &code));
    ASSERT_EQ(code, 0) << setting;
    EXPECT_GE(estimate, peak) << setting << "\n" << dry.output;
    EXPECT_LE(estimate, 1.5 * peak) << setting << "\n" << dry.output;
  }
}

// The bytes the files under `root` take on disk, from stat's block counts.
std::uint64_t disk_usage(const fs::path& root) {
  std::uint64_t bytes = 0;
  struct stat info {};
  if (::lstat(root.c_str(), &info) == 0) bytes += std::uint64_t(info.st_blocks) * 512;
  for (const auto& entry : fs::recursive_directory_iterator(root))
    if (::lstat(entry.path().c_str(), &info) == 0) bytes += std::uint64_t(info.st_blocks) * 512;
  return bytes;
}

// A snapshot at every step, where the many small files count: the estimate covers what the run
// writes (the report aside) and does not overstate it by more than half.
TEST_F(RunSafety, TheDiskEstimateBoundsWhatARunWrites) {
  const std::vector<std::string> settings = {
      "",
      "--set dtype=float32 --set train.optimizer=adam --set train.lr=1e-3",
      "--set 'model.conv=[]' --set 'model.hidden=[256,256]'",
  };
  for (const std::string& setting : settings) {
    const fs::path out = dir_ / "run";
    const std::string base = "train " + quickstart() +
                             " --set train.steps=30 --set track.snapshots=every:1 --out " +
                             out.string() + " " + setting;
    fs::remove_all(out);
    const Result dry = run(base + " --dry-run");
    ASSERT_EQ(dry.code, 0) << dry.output;
    const Result trained = run(base + " --quiet --no-report");
    ASSERT_EQ(trained.code, 0) << trained.output;
    const double written = double(disk_usage(out));
    EXPECT_GE(estimated_bytes(dry.output, "disk"), written) << setting << "\n" << dry.output;
    EXPECT_LE(estimated_bytes(dry.output, "disk"), 1.5 * written) << setting << "\n" << dry.output;
  }
}

// Settings without bound (2^31 epochs with a snapshot at every step) are counted, not built: the
// dry run answers at once, and training is refused for its memory, then for its disk, before
// anything is written. (The schedule of 2·10^9 steps was once built in memory: a hang.)
TEST_F(RunSafety, ARunOfBillionsOfSnapshotsIsCountedAndRefused) {
  const fs::path out = dir_ / "run";
  const std::string base = "train " + quickstart() + " --quiet --out " + out.string() +
                           " --set train.epochs=2147483647 --set track.snapshots=every:1";
  const auto started = std::chrono::steady_clock::now();
  Result r = run(base + " --dry-run");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("steps: 2147483647, 2147483648 snapshots"));
  EXPECT_THAT(r.output, HasSubstr("(too little: training is refused)"));
  r = run(base);
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr("are available on this machine"));
  r = run(base + " --no-memory-check");
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr("of disk, but"));
  EXPECT_THAT(r.output, HasSubstr("--no-disk-check"));
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count(), 20);
  EXPECT_FALSE(fs::exists(out));
}

TEST_F(RunSafety, ABatchLargerThanTheTrainingSetIsRefused) {
  const Result r = run("train " + quickstart() + " --quiet --out " + (dir_ / "run").string() +
                       " --set train.optimizer=sgd --set train.batch_size=600");
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr("train.batch_size = 600 is larger than the training set (500 "
                                  "samples)"));
  EXPECT_FALSE(fs::exists(dir_ / "run"));
}

// An IDX label file whose header claims 3·2^30 labels in 68 bytes is refused as truncated, and the
// claim costs no memory: the labels are read a chunk at a time, not allocated from the header.
TEST_F(RunSafety, AnIdxHeaderClaimingBillionsOfLabelsTakesNoMemory) {
  const fs::path data = dir_ / "idx";
  fs::create_directories(data);
  const auto big_endian = [](std::uint32_t v) {
    return std::string{char(v >> 24), char(v >> 16 & 0xff), char(v >> 8 & 0xff), char(v & 0xff)};
  };
  const auto write = [&](const std::string& name, const std::string& bytes) {
    std::ofstream(data / name, std::ios::binary) << bytes;
  };
  write("train-labels-idx1-ubyte",
        big_endian(0x801) + big_endian(3u << 30) + std::string(60, '\0'));
  write("train-images-idx3-ubyte", big_endian(0x803) + big_endian(4) + big_endian(28) +
                                       big_endian(28) + std::string(4 * 784, '\1'));
  write("t10k-labels-idx1-ubyte", big_endian(0x801) + big_endian(4) + std::string(4, '\0'));
  write("t10k-images-idx3-ubyte", big_endian(0x803) + big_endian(4) + big_endian(28) +
                                      big_endian(28) + std::string(4 * 784, '\1'));
  const std::string train = "train " + quickstart() + " --quiet --out " + (dir_ / "run").string() +
                            " --set 'data.dataset=\"mnist\"' --set 'data.path=\"" + data.string() +
                            "\"'";
  const Result r = run(train);
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr("train-labels-idx1-ubyte is truncated"));
  EXPECT_THAT(r.output, HasSubstr("(3221225472 in the header)"));
  int code = 0;
  EXPECT_LT(peak_memory(train, &code), std::uint64_t(300) << 20);
  EXPECT_EQ(code, 2);
  EXPECT_FALSE(fs::exists(dir_ / "run"));
}

}  // namespace
