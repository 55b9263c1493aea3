// A run directory written by condense before its library was restructured into modules
// (tests/fixtures/old_run: commit 18b0cc3, `condense train config.toml --out run --quiet
// --no-report` with the config.toml it holds) is read by every command that reads run
// directories, and training its config again gives the same numbers.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "condense/core/atomic_file.hpp"
#include "condense/core/npy.hpp"
#include "run_condense.hpp"

namespace fs = std::filesystem;
using ::testing::HasSubstr;

namespace {

using condense_test::Result;
using condense_test::run;

const fs::path kFixture = fs::path(CONDENSE_SOURCE_DIR) / "tests" / "fixtures" / "old_run";

class OldRunDirectory : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("condense_old_run_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    fs::copy(kFixture, run_dir(), fs::copy_options::recursive);
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path run_dir() const { return dir_ / "run"; }
  static std::string quoted(const fs::path& path) {
    std::string text = path.string();
    text.insert(text.begin(), '\'');
    text.push_back('\'');
    return text;
  }

  fs::path dir_;
};

// The rows of a CSV file, each split at commas.
std::vector<std::vector<std::string>> csv_rows(const fs::path& path) {
  std::vector<std::vector<std::string>> rows;
  std::istringstream lines(condense::read_file(path));
  for (std::string line; std::getline(lines, line);) {
    std::vector<std::string> fields;
    std::istringstream cells(line);
    for (std::string cell; std::getline(cells, cell, ',');) fields.push_back(cell);
    rows.push_back(fields);
  }
  return rows;
}

// Two CSV tables agree: the same header and cells, numbers within a relative 1e-10, the columns
// named in `skip` (wall times) not compared.
void expect_same_table(const fs::path& expected, const fs::path& actual,
                       const std::vector<std::string>& skip = {}) {
  const auto a = csv_rows(expected), b = csv_rows(actual);
  ASSERT_EQ(a.size(), b.size()) << actual;
  ASSERT_FALSE(a.empty());
  ASSERT_EQ(a[0], b[0]) << actual;
  for (std::size_t r = 1; r < a.size(); ++r) {
    ASSERT_EQ(a[r].size(), b[r].size()) << actual << " row " << r;
    for (std::size_t c = 0; c < a[r].size(); ++c) {
      if (std::find(skip.begin(), skip.end(), a[0][c]) != skip.end()) continue;
      if (a[r][c] == b[r][c]) continue;
      char* end_a = nullptr;
      char* end_b = nullptr;
      const double x = std::strtod(a[r][c].c_str(), &end_a), y = std::strtod(b[r][c].c_str(), &end_b);
      ASSERT_TRUE(*end_a == '\0' && *end_b == '\0' && !a[r][c].empty())
          << actual << " row " << r << " column " << a[0][c] << ": " << a[r][c] << " vs " << b[r][c];
      EXPECT_NEAR(x, y, 1e-10 * std::max(1.0, std::abs(x)))
          << actual << " row " << r << " column " << a[0][c];
    }
  }
}

TEST_F(OldRunDirectory, ReportDrawsItsFiguresAndPage) {
  const Result r = run("report " + quoted(run_dir()));
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_TRUE(fs::exists(run_dir() / "report.html"));
  EXPECT_TRUE(fs::exists(run_dir() / "figures" / "condensation.png"));
  EXPECT_THAT(condense::read_file(run_dir() / "report.html"), HasSubstr("conv1"));
}

TEST_F(OldRunDirectory, AnalyzeGivesTheAnalysisItWroteThen) {
  const Result r = run("analyze " + quoted(run_dir()));
  ASSERT_EQ(r.code, 0) << r.output;
  expect_same_table(kFixture / "analysis.csv", run_dir() / "analysis.csv");
}

TEST_F(OldRunDirectory, CompareReadsIt) {
  fs::copy(run_dir(), dir_ / "again", fs::copy_options::recursive);
  const Result r = run("compare " + quoted(run_dir()) + " " + quoted(dir_ / "again") + " --out " +
                       quoted(dir_ / "comparison"));
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_FALSE(fs::is_empty(dir_ / "comparison"));
}

// Its checkpoint carries it on: extended from step 5 to 8, it keeps its rows and ends where a
// fresh run of 8 steps ends.
TEST_F(OldRunDirectory, ExtendingItContinuesFromItsCheckpoint) {
  // Without its .condense-run marker, as runs written before the marker existed.
  fs::remove(run_dir() / ".condense-run");
  Result r = run("train --resume " + quoted(run_dir()) + " --set train.steps=8 --quiet --no-report");
  ASSERT_EQ(r.code, 0) << r.output;
  const fs::path fresh = dir_ / "fresh";
  r = run("train " + quoted(kFixture / "config.toml") + " --set train.steps=8 --out " +
          quoted(fresh) + " --quiet --no-report");
  ASSERT_EQ(r.code, 0) << r.output;
  expect_same_table(fresh / "metrics.csv", run_dir() / "metrics.csv", {"time_s"});
  const auto a = condense::read_npy(fresh / "snapshots" / "step_8" / "conv1.weight.npy");
  const auto b = condense::read_npy(run_dir() / "snapshots" / "step_8" / "conv1.weight.npy");
  ASSERT_EQ(a.values.size(), b.values.size());
  for (std::size_t i = 0; i < a.values.size(); ++i) EXPECT_EQ(a.values[i], b.values[i]) << i;
}

TEST_F(OldRunDirectory, TrainingItsConfigAgainGivesItsNumbers) {
  const fs::path again = dir_ / "again";
  const Result r = run("train " + quoted(run_dir() / "config.toml") + " --out " + quoted(again) +
                       " --quiet --no-report");
  ASSERT_EQ(r.code, 0) << r.output;
  expect_same_table(kFixture / "metrics.csv", again / "metrics.csv", {"time_s"});
  expect_same_table(kFixture / "analysis.csv", again / "analysis.csv");
  expect_same_table(kFixture / "snapshots" / "index.csv", again / "snapshots" / "index.csv");
  for (const auto& entry : fs::recursive_directory_iterator(kFixture / "snapshots")) {
    if (entry.path().extension() != ".npy") continue;
    const fs::path relative = fs::relative(entry.path(), kFixture);
    const auto old_array = condense::read_npy(entry.path());
    const auto new_array = condense::read_npy(again / relative);
    ASSERT_EQ(old_array.shape, new_array.shape) << relative;
    for (std::size_t i = 0; i < old_array.values.size(); ++i)
      ASSERT_NEAR(old_array.values[i], new_array.values[i], 1e-12) << relative << " entry " << i;
  }
}

}  // namespace
