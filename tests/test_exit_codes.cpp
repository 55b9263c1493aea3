// The exit codes of docs/exit-codes.md: what each kind of error becomes, and the codes of the real
// executable for success, bad input, divergence and interruption.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <new>
#include <stdexcept>
#include <thread>

#include "condense/cli/commands.hpp"
#include "condense/cli/exit_codes.hpp"
#include "condense/core/error.hpp"
#include "run_condense.hpp"

namespace fs = std::filesystem;
using ::testing::HasSubstr;

namespace {

// The code and message exit_code_for gives an exception.
std::pair<int, std::string> outcome_of(std::exception_ptr error) {
  std::FILE* out = std::tmpfile();
  const int code = condense::exit_code_for(error, out);
  std::rewind(out);
  std::string text;
  for (int c; (c = std::fgetc(out)) != EOF;) text += char(c);
  std::fclose(out);
  return {code, text};
}

template <class E>
std::pair<int, std::string> outcome_of(const E& error) {
  return outcome_of(std::make_exception_ptr(error));
}

TEST(ExitCodes, EveryKindOfErrorHasItsCode) {
  auto [code, text] = outcome_of(condense::InputError("config.toml:3: train.lr must be positive"));
  EXPECT_EQ(code, 2);
  EXPECT_EQ(text, "condense: error: config.toml:3: train.lr must be positive\n");
  std::tie(code, text) = outcome_of(condense::IoError("cannot write out.json: No space"));
  EXPECT_EQ(code, 2);
  std::tie(code, text) = outcome_of(std::bad_alloc());
  EXPECT_EQ(code, 2);
  EXPECT_THAT(text, HasSubstr("out of memory"));
  std::tie(code, text) = outcome_of(condense::DivergenceError(7, "training diverged at step 7"));
  EXPECT_EQ(code, 3);
  // What condense does not expect is a bug: code 1, said as such, never abort().
  std::tie(code, text) = outcome_of(std::logic_error("vector::_M_range_check"));
  EXPECT_EQ(code, 1);
  EXPECT_THAT(text, HasSubstr("condense: internal error: vector::_M_range_check"));
  EXPECT_THAT(text, HasSubstr("please report it"));
  std::tie(code, text) = outcome_of(std::make_exception_ptr(42));
  EXPECT_EQ(code, 1);
  EXPECT_THAT(text, HasSubstr("internal error"));
  // A command that chose its code keeps it.
  std::tie(code, text) = outcome_of(condense::CommandExit{130});
  EXPECT_EQ(code, 130);
  EXPECT_EQ(text, "");
}

class ExitCodesOfTheExecutable : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("condense_exit_codes_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

std::string quickstart() { return std::string(CONDENSE_SOURCE_DIR) + "/configs/quickstart.toml"; }

TEST_F(ExitCodesOfTheExecutable, SuccessBadInputAndDivergence) {
  const std::string out = " --quiet --no-report --set data.train_size=50 --set data.test_size=50 --out ";
  EXPECT_EQ(condense_test::run("train " + quickstart() + out + (dir_ / "ok").string() +
                               " --set train.steps=3").code,
            0);
  const auto bad = condense_test::run("train " + quickstart() + out + (dir_ / "bad").string() +
                                      " --set train.lr=-1");
  EXPECT_EQ(bad.code, 2);
  EXPECT_THAT(bad.output, HasSubstr("condense: error: --set train.lr=-1: train.lr must be"));
  const auto diverged = condense_test::run("train " + quickstart() + out +
                                           (dir_ / "diverged").string() +
                                           " --set train.lr=1e200 --set init.std=1");
  EXPECT_EQ(diverged.code, 3) << diverged.output;
  EXPECT_THAT(diverged.output, HasSubstr("diverged at step"));
  EXPECT_EQ(condense_test::run("no-such-command").code, 2);
}

TEST_F(ExitCodesOfTheExecutable, InterruptedIs130) {
  const pid_t child = fork();
  const fs::path run = dir_ / "run";
  if (child == 0) {
    const std::string command = std::string("exec ") + CONDENSE_BINARY + " train " + quickstart() +
                                " --quiet --no-report --set train.steps=1000000 --out " +
                                run.string() + " > /dev/null 2>&1";
    execl("/bin/sh", "sh", "-c", command.c_str(), nullptr);
    _exit(127);
  }
  for (int i = 0; i < 2000 && !fs::exists(run / "checkpoint/state.bin"); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  kill(child, SIGINT);
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 130);
}

}  // namespace
