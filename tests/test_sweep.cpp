// `condense sweep`: axes expand into runs named by their parameters; malformed sweep files name
// file, line and key; local workers train, record failures and resume; a killed worker and an
// interrupted sweep lose nothing and a rerun completes them; shards plus --aggregate and an MPI
// job (mpirun --oversubscribe -n 3) give the same table as a local sweep; a rank that dies stops
// the job and a rerun completes it; every sweep file in experiments/ runs in its reduced version.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "condense/series/sweep.hpp"
#include "condense/core/atomic_file.hpp"
#include "condense/core/csv.hpp"
#include "condense/core/error.hpp"
#include "condense/report/phase_diagram.hpp"
#include "run_condense.hpp"

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

namespace {

using condense_test::run;

fs::path scratch(const std::string& name) {
  const fs::path dir =
      fs::temp_directory_path() / ("condense_sweep_" + std::to_string(::getpid())) / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

// A two-layer FC net on sin data: a run takes milliseconds.
const char* kBase = R"(seed = 0
dtype = "float64"
[data]
dataset = "sin"
sin_dim = 2
train_size = 40
test_size = 0
target = "regression"
[model]
conv = []
hidden = [20]
activation = "tanh"
bias = true
[init]
scheme = "normal"
std = 0.005
[train]
loss = "mse"
optimizer = "gd"
lr = 0.01
steps = 60
[track]
snapshots = "log"
)";

fs::path write_sweep(const fs::path& dir, const std::string& sweep, const std::string& base = kBase) {
  const fs::path file = dir / "sweep.toml";
  std::ofstream(file) << base << sweep;
  return file;
}

condense::CsvTable table_of(const fs::path& out) { return condense::read_csv(out / "sweep.csv"); }

std::string cell(const condense::CsvTable& t, std::size_t row, const std::string& column) {
  return t.rows.at(row).at(t.column(column));
}

// The row of run `name`.
std::size_t row_of(const condense::CsvTable& t, const std::string& name) {
  for (std::size_t r = 0; r < t.rows.size(); ++r)
    if (cell(t, r, "run") == name) return r;
  ADD_FAILURE() << "no row for " << name;
  return 0;
}

// Runs `arguments` in the background; returns the shell's pid file and exit-code file.
struct Background {
  fs::path pid, code, log;
};
Background start(const fs::path& dir, const std::string& arguments) {
  Background b{dir / "bg.pid", dir / "bg.code", dir / "bg.log"};
  fs::remove(b.pid);
  fs::remove(b.code);
  const std::string command = "(" + arguments + " > " + b.log.string() + " 2>&1; echo $? > " +
                              b.code.string() + ".tmp; mv " + b.code.string() + ".tmp " +
                              b.code.string() + ") & echo $! > " + b.pid.string();
  EXPECT_EQ(std::system(command.c_str()), 0);
  return b;
}

int wait_for(const Background& b, int seconds = 300) {
  for (int i = 0; i < seconds * 10; ++i) {
    if (fs::exists(b.code)) return std::stoi(condense::read_file(b.code));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ADD_FAILURE() << "the background command did not finish";
  return -1;
}

// Pids of the condense processes whose command line contains every one of `parts` and not
// `without`, with their OMPI_COMM_WORLD_RANK (−1 outside MPI).
struct Process {
  pid_t pid;
  int rank;
};
std::vector<Process> condense_processes(const std::vector<std::string>& parts,
                                        const std::string& without = "") {
  std::vector<Process> found;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(entry.path() / "cmdline");
    std::string line((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (line.substr(0, line.find('\0')) != CONDENSE_BINARY) continue;
    std::replace(line.begin(), line.end(), '\0', ' ');
    bool all = without.empty() || line.find(without) == std::string::npos;
    for (const auto& part : parts) all = all && line.find(part) != std::string::npos;
    if (!all) continue;
    std::ifstream env_in(entry.path() / "environ");
    std::string env((std::istreambuf_iterator<char>(env_in)), std::istreambuf_iterator<char>());
    const auto at = env.find("OMPI_COMM_WORLD_RANK=");
    found.push_back({pid_t(std::stol(name)), at == std::string::npos ? -1 : std::atoi(env.c_str() + at + 21)});
  }
  return found;
}

std::vector<Process> wait_for_processes(const std::vector<std::string>& parts, std::size_t n,
                                        const std::string& without = "") {
  for (int i = 0; i < 600; ++i) {
    const auto found = condense_processes(parts, without);
    if (found.size() >= n) return found;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ADD_FAILURE() << "no process with " << parts.front();
  return {};
}

std::string mpirun() {
  // OpenMPI refuses to start as root unless told; CI machines run as root.
  return "OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1 "
         "mpirun --oversubscribe -n 3 ";
}

// ---------------------------------------------------------------------------------------------
// The sweep file.

TEST(SweepFile, ExpandsAxesIntoRunsNamedByTheirParameters) {
  const fs::path dir = scratch("expand");
  const fs::path file = write_sweep(dir, R"(
[sweep]
seeds = 2
[[sweep.axes]]
key = "init.gamma"
linear = { from = 0.25, to = 2.5, num = 10 }
[[sweep.axes]]
key = "train.lr"
log = { from = 1e-3, to = 1e-1, num = 3 }
[[sweep.axes]]
key = "train.steps"
values = [300, 200, 100]
zip = "train.lr"
[[sweep.axes]]
key = "model.activation"
values = ["tanh", "relu"]
)");
  const condense::Sweep sweep = condense::load_sweep(file, {});
  ASSERT_EQ(sweep.axes.size(), 5u);  // seeds last
  EXPECT_EQ(sweep.axes[0].labels.front(), "0.25");
  EXPECT_EQ(sweep.axes[0].labels.back(), "2.5");  // not 2.4999999999999996
  EXPECT_EQ(sweep.axes[0].values[4], "1.25");
  EXPECT_EQ(sweep.axes[1].labels, (std::vector<std::string>{"0.001", "0.01", "0.1"}));
  EXPECT_TRUE(sweep.axes[1].log);
  EXPECT_EQ(sweep.axes[2].leader, 1);
  EXPECT_EQ(sweep.axes[4].key, "seed");
  // 10 γ × 3 (lr, steps) × 2 activations × 2 seeds; the zipped axis does not multiply.
  ASSERT_EQ(sweep.runs.size(), 120u);
  EXPECT_EQ(sweep.runs[0].name, "gamma=0.25_lr=0.001_steps=300_activation=tanh_seed=0");
  EXPECT_EQ(sweep.runs[1].name, "gamma=0.25_lr=0.001_steps=300_activation=tanh_seed=1");
  EXPECT_EQ(sweep.runs[4].name, "gamma=0.25_lr=0.01_steps=200_activation=tanh_seed=0");
  EXPECT_EQ(sweep.runs[119].name, "gamma=2.5_lr=0.1_steps=100_activation=relu_seed=1");
  const condense::RunConfig& last = *sweep.runs[119].config;
  EXPECT_DOUBLE_EQ(last.init.all.gamma.value_or(0), 2.5);
  EXPECT_DOUBLE_EQ(last.train.optimizer.lr, 0.1);
  EXPECT_EQ(last.train.steps, 100);
  EXPECT_EQ(last.seed, 1u);
  // Default figures: the first two axes of their own, by peak mean |cos| and by RD.
  ASSERT_EQ(sweep.figures.size(), 2u);
  EXPECT_EQ(sweep.figures[0].metric, "max_mean_abs_cos");
  EXPECT_EQ(sweep.figures[1].name, "max_rd_gamma_lr");
  // --quick takes each axis's quick values and the file's quick settings.
  const fs::path quick = write_sweep(dir, R"(
[sweep]
quick = ["train.steps=5"]
[[sweep.axes]]
key = "init.gamma"
linear = { from = 0.25, to = 2.5, num = 10 }
quick = [0.5, 2.0]
)");
  const condense::Sweep reduced = condense::load_sweep(quick, {{}, true});
  ASSERT_EQ(reduced.runs.size(), 2u);
  EXPECT_EQ(reduced.runs[1].name, "gamma=2");
  EXPECT_EQ(reduced.runs[1].config->train.steps, 5);
}

TEST(SweepFile, IntegerKeysGetIntegerValues) {
  const fs::path dir = scratch("integers");
  const condense::Sweep sweep = condense::load_sweep(write_sweep(dir, R"(
[sweep]
[[sweep.axes]]
key = "train.steps"
log = { from = 10, to = 1000, num = 3 }
)"),
                                                     {});
  EXPECT_EQ(sweep.axes[0].values, (std::vector<std::string>{"10", "100", "1000"}));
  EXPECT_EQ(sweep.runs[2].config->train.steps, 1000);
  try {
    condense::load_sweep(write_sweep(dir, R"(
[sweep]
[[sweep.axes]]
key = "train.steps"
linear = { from = 1, to = 2, num = 5 }
)"),
                         {});
    ADD_FAILURE() << "no error";
  } catch (const condense::InputError& e) {
    EXPECT_THAT(e.what(), HasSubstr("rounds to repeated values"));
  }
}

// labels name an axis's values in run names, the table and figures; numeric labels are where
// marks go; the table's column is then the axis's name.
TEST(SweepFile, LabelsNameValuesAndPlaceMarks) {
  const fs::path dir = scratch("labels");
  const condense::Sweep sweep = condense::load_sweep(write_sweep(dir, R"(
[sweep]
[[sweep.axes]]
key = "init.gamma"
name = "gamma_Luo"
values = [0.25, 0.5]
labels = ["0.5", "1"]
quick = [0.75]
quick_labels = ["1.5"]
[[sweep.axes]]
key = "model.hidden"
values = [[20], [40, 10]]
)"),
                                                     {});
  EXPECT_EQ(sweep.runs[3].name, "gamma_Luo=1_hidden=40-10");
  EXPECT_EQ(sweep.axes[0].numbers, (std::vector<double>{0.5, 1.0}));
  EXPECT_TRUE(sweep.axes[0].labelled);
  EXPECT_DOUBLE_EQ(sweep.runs[3].config->init.all.gamma.value_or(0), 0.5);
  EXPECT_EQ(sweep.runs[3].config->model.hidden, (std::vector<int>{40, 10}));
  const condense::Sweep quick = condense::load_sweep(dir / "sweep.toml", {{}, true});
  EXPECT_EQ(quick.runs[0].name, "gamma_Luo=1.5_hidden=20");
  EXPECT_DOUBLE_EQ(quick.runs[0].config->init.all.gamma.value_or(0), 0.75);
  const condense::SweepTable table(sweep, dir / "out");
  EXPECT_EQ(condense::row_value(table.rows()[1], "gamma_Luo"), "0.5");
  EXPECT_EQ(condense::row_value(table.rows()[1], "model.hidden"), "40-10");
  EXPECT_EQ(condense::row_value(table.rows()[1], "status"), "not run");
}

// Each malformed sweep names the file, the line and what is wrong.
TEST(SweepFile, BadInputNamesFileLineAndKey) {
  const fs::path dir = scratch("bad");
  struct Case {
    std::string sweep, expected;
  };
  const std::vector<Case> cases = {
      {"[sweep]\n[[sweep.axes]]\nkey = \"train.rl\"\nvalues = [1]\n",
       "sweep.toml:25 (sweep.axes): unknown key train.rl (did you mean train.lr?)"},
      {"[sweep]\n[[sweep.axes]]\nkey = \"train.lr\"\nvalues = []\n",
       "sweep.toml:27: axis train.lr is empty"},
      {"[sweep]\n[[sweep.axes]]\nkey = \"train.lr\"\nlinear = { from = 0.1, to = 1, num = 0 }\n",
       "axis train.lr is empty (num = 0)"},
      {"[sweep]\nseeds = 0\n", "sweep.seeds = 0 gives no run"},
      {"[sweep]\ntitle = \"t\"\n", "the sweep has no axes"},
      {"[sweep]\n[[sweep.axes]]\nkey = \"train.lr\"\n", "axis train.lr needs its values"},
      {"[sweep]\n[[sweep.axes]]\nkey = \"train.lr\"\nvalues = [0.1]\nlinear = { from = 0.1, to = 1, num = 2 }\n",
       "has both values and linear"},
      {"[sweep]\n[[sweep.axes]]\nkey = \"train.lr\"\nlog = { from = 0, to = 1, num = 2 }\n",
       "a log range needs from > 0"},
      {"[sweep]\n[[sweep.axes]]\nkey = \"train.lr\"\nvalues = [0.1, 0.2]\n[[sweep.axes]]\n"
       "key = \"train.steps\"\nvalues = [1]\nzip = \"train.lr\"\n",
       "zipped axes need the same number of values"},
      {"[sweep]\n[[sweep.axes]]\nkey = \"train.steps\"\nvalues = [1]\nzip = \"train.momentum\"\n",
       "zip: no axis \"train.momentum\"; the axes are train.steps"},
      {"[sweep]\n[[sweep.axes]]\nkey = \"train.lr\"\nvalues = [0.1]\nstep = 2\n",
       "sweep.toml:28: unknown key step in a [[sweep.axes]] entry"},
      {"[sweep]\nseed = 3\n", "unknown key seed in [sweep]"},
      {"[sweep]\n[[sweep.axes]]\nkey = \"train.lr\"\nvalues = [0.1]\n[[sweep.figures]]\nx = \"init.std\"\n"
       "metric = \"max_rd\"\n",
       "sweep.figures.x: no axis \"init.std\""},
      {"[sweep]\n[[sweep.axes]]\nkey = \"train.lr\"\nvalues = [0.1]\n[[sweep.figures]]\nx = \"train.lr\"\n"
       "metric = \"sharpness\"\n",
       "unknown metric \"sharpness\""},
      {"[sweep]\n[[sweep.axes]]\nkey = \"train.lr\"\nvalues = [0.1]\n[[sweep.figures]]\nx = \"train.lr\"\n"
       "metric = \"rd\"\nwhere = [\"train.lr=0.3\"]\n",
       "axis train.lr has no value 0.3; its values are 0.1"},
      {"[sweep]\n[[sweep.axes]]\nkey = \"train.lr\"\nvalues = [0.1, 0.1]\n", "axis train.lr repeats a value"},
      {"[sweep]\n[[sweep.axes]]\nkey = \"train.lr\"\nvalues = [0.1, 0.2]\nlabels = [\"a\"]\n",
       "axis train.lr: labels must be 2 strings, one per value"},
      {"[sweep]\n[[sweep.axes]]\nkey = \"train.lr\"\nvalues = [0.1, 0.2]\nlabels = [\"a\", \"a\"]\n",
       "axis train.lr has repeated labels (a, a)"},
      // Sizes without bound are refused before anything is laid out (they were built: a hang).
      {"[sweep]\n[[sweep.axes]]\nkey = \"train.lr\"\nlinear = { from = 0.1, to = 1, num = 1000000000000 }\n",
       "axis train.lr: num = 1000000000000 is more values than a sweep can run (at most 100000 runs)"},
      {"[sweep]\nseeds = 1000000000\n",
       "sweep.seeds = 1000000000 is more runs than a sweep can hold (at most 100000)"},
      {"[sweep]\n[[sweep.axes]]\nkey = \"train.lr\"\nlog = { from = 1e-3, to = 1, num = 1000 }\n"
       "[[sweep.axes]]\nkey = \"init.std\"\nlog = { from = 1e-9, to = 1, num = 1000 }\n",
       "the axes give 1000 × 1000 runs, more than a sweep can hold (at most 100000)"},
      // An integer range beyond 2^53 (made an int64, undefined behaviour), a subnormal bound
      // (std::stod's out_of_range, once an internal error).
      {"[sweep]\n[[sweep.axes]]\nkey = \"train.steps\"\nlinear = { from = 1, to = 1e300, num = 2 }\n",
       "axis train.steps holds integers, and its range reaches 1e+300, beyond 2^53"},
      {"[sweep]\n[[sweep.axes]]\nkey = \"train.lr\"\nlinear = { from = 1e-310, to = 1e-300, num = 2 }\n"
       "[[sweep.axes]]\nkey = \"train.rl\"\nvalues = [1]\n",
       "unknown key train.rl"},
  };
  for (const auto& c : cases) {
    const fs::path file = write_sweep(dir, c.sweep);
    const auto r = run("sweep " + file.string() + " --out " + (dir / "out").string());
    EXPECT_EQ(r.code, 2) << c.sweep << r.output;
    EXPECT_THAT(r.output, HasSubstr(c.expected)) << c.sweep;
    EXPECT_FALSE(fs::exists(dir / "out")) << c.sweep;  // nothing started
  }
  // Not a sweep file; an experiment file given to sweep, a sweep file given to run and train.
  const fs::path plain = dir / "plain.toml";
  std::ofstream(plain) << kBase;
  EXPECT_THAT(run("sweep " + plain.string()).output, HasSubstr("no [sweep] table"));
  const fs::path sweep_file = write_sweep(dir, "[sweep]\nseeds = 2\n");
  EXPECT_THAT(run("run " + sweep_file.string()).output,
              HasSubstr("a sweep file; run it with: condense sweep"));
  EXPECT_THAT(run("train " + sweep_file.string()).output,
              HasSubstr("[sweep] belongs to a sweep file; run it with: condense sweep FILE"));
  for (const char* shard : {"2/2", "x/2", "1", "-1/3"}) {
    const auto r = run("sweep " + sweep_file.string() + " --shard " + shard + " --out " +
                       (dir / "out").string());
    EXPECT_EQ(r.code, 2) << shard;
    EXPECT_THAT(r.output, HasSubstr("expected I/N with 0 ≤ I < N")) << shard;
  }
}

// A value the config rejects fails that run only, with the config's message.
TEST(SweepFile, AnInvalidValueIsThatRunsError) {
  const fs::path dir = scratch("invalid");
  const condense::Sweep sweep = condense::load_sweep(write_sweep(dir, R"(
[sweep]
[[sweep.axes]]
key = "train.lr"
values = [-1, 0.01]
)"),
                                                     {});
  ASSERT_EQ(sweep.runs.size(), 2u);
  EXPECT_FALSE(sweep.runs[0].config.has_value());
  EXPECT_THAT(sweep.runs[0].error, HasSubstr("train.lr"));
  EXPECT_TRUE(sweep.runs[1].config.has_value());
}

// ---------------------------------------------------------------------------------------------
// Running sweeps.

// A run whose value the config rejects is recorded like any failed run: OUT/errors/<run>.txt with
// every line of the config's message, a failed row, and the other runs train; in shards too.
TEST(Sweep, AnInvalidValueGetsItsErrorFileLikeAnyFailedRun) {
  const fs::path dir = scratch("invalid_errors");
  const fs::path file = write_sweep(dir, R"(
[sweep]
run_reports = false
[[sweep.axes]]
key = "train.lr"
values = [-1, 0.01]
[[sweep.axes]]
key = "train.momentum"
values = [0.5, 0]
zip = "train.lr"
)");
  const std::string expected =
      "the config has 2 errors:\n  " + file.string() +
      " (axis train.lr): train.lr must be a positive number, got -1\n  " + file.string() +
      " (axis train.momentum): train.momentum must be 0 for optimizer gd (use sgd for momentum), "
      "got 0.5\n";
  const std::vector<std::string> shardings = {"", " --shard 0/2", " --shard 1/2"};
  for (std::size_t i = 0; i < shardings.size(); ++i) {
    const std::string& shards = shardings[i];
    const fs::path out = dir / ("out" + std::to_string(i));
    const auto r = run("sweep " + file.string() + " --quiet --threads 1" + shards + " --out " +
                       out.string());
    const bool holds_it = shards != " --shard 1/2";  // run 0 is the invalid one
    EXPECT_EQ(r.code, holds_it ? 3 : 0) << shards << r.output;
    const fs::path errors = out / "errors" / "lr=-1_momentum=0.5.txt";
    ASSERT_EQ(fs::exists(errors), holds_it) << shards;
    if (holds_it) {
      EXPECT_EQ(condense::read_file(errors), expected) << shards;
    }
    EXPECT_FALSE(fs::exists(out / "lr=-1_momentum=0.5")) << shards;
    EXPECT_EQ(fs::exists(out / "lr=0.01_momentum=0" / "summary.json"), shards != " --shard 0/2");
  }
  const condense::CsvTable t = table_of(dir / "out0");
  EXPECT_EQ(cell(t, row_of(t, "lr=-1_momentum=0.5"), "status"), "failed");
  EXPECT_THAT(cell(t, row_of(t, "lr=-1_momentum=0.5"), "error"),
              HasSubstr("train.lr must be a positive number, got -1"));
  EXPECT_EQ(cell(t, row_of(t, "lr=0.01_momentum=0"), "status"), "completed");
}

// Local workers: completed, failed (bad value) and diverged runs are recorded; the table, the
// phase diagrams and the page are written; a rerun trains nothing more.
TEST(Sweep, LocalWorkersRecordEveryOutcomeAndRerunSkipsFinishedRuns) {
  const fs::path dir = scratch("local");
  const fs::path out = dir / "out";
  const fs::path file = write_sweep(dir, R"(
[sweep]
title = "local"
seeds = 2
run_reports = false
[[sweep.axes]]
key = "train.lr"
values = [0.01, 0.02, -1, 1e30]
[[sweep.figures]]
x = "train.lr"
y = "seed"
metric = "max_rd"
marks = [{ x = 0.015, label = "between" }]
)",
                                    std::string(kBase) + "");
  const auto r = run("sweep " + file.string() +
                     " --workers 2 --threads 1 --set init.std=1 --set track.save_cosines=false --out " +
                     out.string());
  EXPECT_EQ(r.code, 3) << r.output;  // two runs have an invalid value
  EXPECT_THAT(r.output, HasSubstr("8 runs: 0 finished already, 2 with invalid settings, 6 to train "
                                  "on 2 workers × 1 thread"));
  EXPECT_THAT(r.output, HasSubstr("2 runs failed"));
  const condense::CsvTable t = table_of(out);
  ASSERT_EQ(t.rows.size(), 8u);
  for (const char* name : {"lr=0.01_seed=0", "lr=0.01_seed=1", "lr=0.02_seed=0", "lr=0.02_seed=1"}) {
    const std::size_t row = row_of(t, name);
    EXPECT_EQ(cell(t, row, "status"), "completed") << name;
    EXPECT_EQ(cell(t, row, "steps"), "60");
    EXPECT_FALSE(cell(t, row, "fc1.max_rd").empty());
    EXPECT_LE(std::stod(cell(t, row, "min_train_loss")), std::stod(cell(t, row, "train_loss")));
    EXPECT_GE(std::stod(cell(t, row, "fc1.max_rd")), std::stod(cell(t, row, "fc1.rd")));
    EXPECT_EQ(cell(t, row, "error"), "");
    EXPECT_TRUE(fs::exists(out / name / "summary.json"));
    EXPECT_FALSE(fs::exists(out / name / "report.html"));  // run_reports = false
    EXPECT_FALSE(fs::exists(out / name / "cosines"));      // the table needs only the measures
    const std::string config = condense::read_file(out / name / "config.toml");
    EXPECT_THAT(config, HasSubstr("std = 1.0"));  // --set reaches every run
  }
  EXPECT_EQ(cell(t, row_of(t, "lr=0.01_seed=1"), "seed"), "1");
  EXPECT_EQ(cell(t, row_of(t, "lr=0.02_seed=0"), "train.lr"), "0.02");
  for (const char* name : {"lr=-1_seed=0", "lr=-1_seed=1"}) {
    EXPECT_EQ(cell(t, row_of(t, name), "status"), "failed");
    EXPECT_THAT(cell(t, row_of(t, name), "error"), HasSubstr("train.lr"));
    EXPECT_FALSE(fs::exists(out / name));
  }
  for (const char* name : {"lr=1e+30_seed=0", "lr=1e+30_seed=1"}) {
    EXPECT_EQ(cell(t, row_of(t, name), "status"), "diverged");
    EXPECT_THAT(cell(t, row_of(t, name), "error"), HasSubstr("diverged"));
  }
  // The phase diagram over lr and seed: × where every run diverged, ! where the value failed.
  const fs::path figures = out / "figures";
  for (const char* ext : {".png", ".pdf", ".gp"})
    EXPECT_TRUE(fs::exists(figures / (std::string("phase_max_rd_lr_seed") + ext))) << ext;
  const std::string data = condense::read_file(figures / "data" / "phase_max_rd_lr_seed.dat");
  EXPECT_THAT(data, HasSubstr("3 0 NaN \"×\""));
  EXPECT_THAT(data, HasSubstr("2 1 NaN \"!\""));
  // The cell of lr 0.01, seed 0 holds that run's own max RD.
  const double rd = std::stod(cell(t, row_of(t, "lr=0.01_seed=0"), "fc1.max_rd"));
  const std::string first = data.substr(data.find("\n0 0 ") + 5);
  EXPECT_NEAR(std::stod(first), rd, 1e-3 * rd);
  const std::string script = condense::read_file(figures / "phase_max_rd_lr_seed.gp");
  EXPECT_THAT(script, HasSubstr("phase_max_rd_lr_seed_marks.dat"));
  // The mark at lr 0.015 runs between the cells of 0.01 and 0.02, from bottom to top.
  EXPECT_EQ(condense::read_file(figures / "data" / "phase_max_rd_lr_seed_marks.dat"),
            "0.5 -0.5\n0.5 1.5\n\n");
  EXPECT_THAT(script, HasSubstr("set logscale cb"));
  const std::string page = condense::read_file(out / "report.html");
  EXPECT_THAT(page, HasSubstr("src=\"figures/phase_max_rd_lr_seed.png\""));
  EXPECT_THAT(page, HasSubstr("4 completed"));
  EXPECT_THAT(page, HasSubstr("2 diverged"));
  EXPECT_THAT(page, HasSubstr("2 failed"));
  EXPECT_TRUE(fs::exists(out / "logs" / "lr=0.01_seed=0.log"));

  // Rerun: nothing is trained again; the invalid runs still fail.
  const auto again = run("sweep " + file.string() +
                         " --set init.std=1 --set track.save_cosines=false --out " + out.string());
  EXPECT_EQ(again.code, 3) << again.output;
  EXPECT_THAT(again.output, HasSubstr("6 finished already, 2 with invalid settings, 0 to train"));
  // A changed setting retrains every run.
  const auto changed = run("sweep " + file.string() +
                           " --quiet --set init.std=1 --set track.save_cosines=false "
                           "--set train.steps=30 --out " + out.string());
  EXPECT_EQ(changed.code, 3) << changed.output;
  EXPECT_EQ(cell(table_of(out), row_of(table_of(out), "lr=0.01_seed=0"), "steps"), "30");
}

// A finished run is kept when its config.toml predates a key (read with today's default) or was
// trained with another thread count; a real change of settings retrains it.
TEST(Sweep, FinishedRunsSurviveNewKeysAndOtherThreadCounts) {
  const fs::path dir = scratch("same_settings");
  const fs::path out = dir / "out";
  const fs::path file = write_sweep(dir, "[sweep]\nrun_reports = false\n[[sweep.axes]]\nkey = \"train.lr\"\nvalues = [0.01]\n");
  ASSERT_EQ(run("sweep " + file.string() + " --quiet --threads 1 --out " + out.string()).code, 0);
  const fs::path config = out / "lr=0.01" / "config.toml";
  std::string text = condense::read_file(config);
  for (const std::string line : {"save_cosines = true\n", "fan = 'in'\n"}) {
    const auto at = text.find(line);
    ASSERT_NE(at, std::string::npos) << line;
    text.erase(at, line.size());
  }
  condense::write_file_atomic(config, text);
  auto r = run("sweep " + file.string() + " --threads 2 --out " + out.string());
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("1 finished already, 0 with invalid settings, 0 to train"));
  r = run("sweep " + file.string() + " --set train.steps=61 --out " + out.string());
  EXPECT_THAT(r.output, HasSubstr("0 finished already, 0 with invalid settings, 1 to train"));
}

// A worker killed mid-run is recorded and the other runs go on; the rerun resumes it.
TEST(Sweep, AKilledWorkerIsRecordedAndARerunCompletesIt) {
  const fs::path dir = scratch("killed");
  const fs::path out = dir / "out";
  const fs::path file = write_sweep(dir, R"(
[sweep]
run_reports = false
[[sweep.axes]]
key = "train.lr"
values = [0.01, 0.02]
)");
  const std::string sweep = std::string(CONDENSE_BINARY) + " sweep " + file.string() +
                            " --workers 1 --set train.steps=400000 --set track.snapshots=none --out " +
                            out.string();
  const Background bg = start(dir, sweep);
  const auto workers = wait_for_processes({"sweep-job", "lr=0.01", out.string()}, 1);
  ASSERT_EQ(workers.size(), 1u);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  ::kill(workers[0].pid, SIGKILL);
  EXPECT_EQ(wait_for(bg), 3);
  const std::string log = condense::read_file(bg.log);
  EXPECT_THAT(log, HasSubstr("lr=0.01: its worker was killed by signal 9"));
  EXPECT_THAT(log, HasSubstr("lr=0.02: completed"));
  condense::CsvTable t = table_of(out);
  EXPECT_THAT(cell(t, row_of(t, "lr=0.01"), "error"), HasSubstr("killed by signal 9"));
  EXPECT_NE(cell(t, row_of(t, "lr=0.01"), "status"), "completed");
  EXPECT_EQ(cell(t, row_of(t, "lr=0.02"), "status"), "completed");

  const auto rerun = run("sweep " + file.string() +
                         " --set train.steps=400000 --set track.snapshots=none --out " + out.string());
  EXPECT_EQ(rerun.code, 0) << rerun.output;
  EXPECT_THAT(rerun.output, HasSubstr("1 finished already, 0 with invalid settings, 1 to train"));
  t = table_of(out);
  EXPECT_EQ(cell(t, row_of(t, "lr=0.01"), "status"), "completed");
  EXPECT_EQ(cell(t, row_of(t, "lr=0.01"), "error"), "");
  EXPECT_FALSE(fs::exists(out / "errors" / "lr=0.01.txt"));
}

// Each worker trains the resolved config the sweep wrote for it when it started: editing the sweep
// file while the sweep runs changes nothing of it.
TEST(Sweep, EditingTheFileDuringASweepChangesNothingOfIt) {
  const fs::path dir = scratch("edited");
  const fs::path out = dir / "out";
  const std::string axes = R"(
[sweep]
run_reports = false
[[sweep.axes]]
key = "train.lr"
values = [0.01, 0.02]
)";
  const fs::path file = write_sweep(dir, axes);
  const Background bg = start(dir, std::string(CONDENSE_BINARY) + " sweep " + file.string() +
                                       " --workers 1 --set train.steps=150000 "
                                       "--set track.snapshots=none --out " + out.string());
  wait_for_processes({"sweep-job", "lr=0.01", out.string()}, 1);
  // While the first run trains, the shared init changes in the file.
  std::string base = kBase;
  base.replace(base.find("std = 0.005"), 11, "std = 0.5");
  write_sweep(dir, axes, base);
  EXPECT_EQ(wait_for(bg), 0) << condense::read_file(bg.log);
  for (const char* run : {"lr=0.01", "lr=0.02"})
    EXPECT_THAT(condense::read_file(out / run / "config.toml"), HasSubstr("std = 0.005")) << run;
  EXPECT_THAT(condense::read_file(out / "jobs" / "lr=0.02.toml"), HasSubstr("std = 0.005"));
}

// SIGTERM to the sweep: running workers save their checkpoints, the sweep exits 130, and the
// same command finishes the runs from there.
TEST(Sweep, AnInterruptedSweepResumesFromCheckpoints) {
  const fs::path dir = scratch("interrupted");
  const fs::path out = dir / "out";
  const fs::path file = write_sweep(dir, R"(
[sweep]
run_reports = false
[[sweep.axes]]
key = "train.lr"
values = [0.01, 0.02, 0.03]
)");
  const std::string settings = " --set train.steps=300000 --set track.snapshots=none --out " + out.string();
  const Background bg = start(dir, std::string(CONDENSE_BINARY) + " sweep " + file.string() +
                                       " --workers 2 --threads 1" + settings);
  wait_for_processes({"sweep-job", out.string()}, 2);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const auto sweeps = condense_processes({"sweep", out.string()}, "sweep-job");
  ASSERT_EQ(sweeps.size(), 1u);
  ::kill(sweeps[0].pid, SIGTERM);
  EXPECT_EQ(wait_for(bg), 130);
  EXPECT_THAT(condense::read_file(bg.log), HasSubstr("stopping the sweep"));
  int interrupted = 0;
  for (const char* name : {"lr=0.01", "lr=0.02"})
    interrupted += condense::recorded_status(out / name) == condense::RunStatus::interrupted;
  EXPECT_EQ(interrupted, 2);
  EXPECT_FALSE(fs::exists(out / "lr=0.03"));  // never started

  const auto rerun = run("sweep " + file.string() + settings);
  EXPECT_EQ(rerun.code, 0) << rerun.output;
  const condense::CsvTable t = table_of(out);
  for (std::size_t r = 0; r < t.rows.size(); ++r) EXPECT_EQ(cell(t, r, "status"), "completed");
  // Resumed, not restarted: the metrics continue from the interrupted run's last row.
  EXPECT_THAT(condense::read_file(out / "logs" / "lr=0.01.log"), HasSubstr("resuming"));
}

// Shards of a job array, then --aggregate: the same table as one local sweep.
TEST(Sweep, ShardsAndAggregateGiveTheLocalTable) {
  const fs::path dir = scratch("shards");
  const fs::path file = write_sweep(dir, R"(
[sweep]
run_reports = false
seeds = 2
[[sweep.axes]]
key = "init.gamma"
values = [0.5, 1.5]
)");
  const auto local = run("sweep " + file.string() + " --quiet --out " + (dir / "local").string());
  ASSERT_EQ(local.code, 0) << local.output;
  const fs::path sharded = dir / "sharded";
  const auto first = run("sweep " + file.string() + " --shard 0/2 --out " + sharded.string());
  ASSERT_EQ(first.code, 0) << first.output;
  EXPECT_THAT(first.output, HasSubstr("in shard 0/2"));
  EXPECT_THAT(first.output, HasSubstr("--aggregate"));
  // Shard 0 takes runs 0 and 2 (seed 0 of each γ) and writes no table.
  EXPECT_TRUE(fs::exists(sharded / "gamma=0.5_seed=0" / "summary.json"));
  EXPECT_FALSE(fs::exists(sharded / "gamma=0.5_seed=1"));
  EXPECT_FALSE(fs::exists(sharded / "sweep.csv"));
  ASSERT_EQ(run("sweep " + file.string() + " --quiet --shard 1/2 --out " + sharded.string()).code, 0);
  const auto aggregate = run("sweep " + file.string() + " --aggregate --out " + sharded.string());
  ASSERT_EQ(aggregate.code, 0) << aggregate.output;
  EXPECT_THAT(aggregate.output, HasSubstr("4 completed"));
  const condense::CsvTable a = table_of(dir / "local"), b = table_of(sharded);
  ASSERT_EQ(a.rows.size(), 4u);
  ASSERT_EQ(b.rows.size(), 4u);
  for (std::size_t r = 0; r < 4; ++r)
    for (const char* column : {"run", "status", "train_loss", "fc1.max_rd", "fc1.max_mean_abs_cos"})
      EXPECT_EQ(cell(a, r, column), cell(b, r, column)) << r << column;
  EXPECT_TRUE(fs::exists(sharded / "report.html"));
  EXPECT_TRUE(fs::exists(sharded / "figures" / "phase_max_rd_gamma.png"));
}

// mpirun: a dynamic queue over 2 worker ranks gives the local sweep's table.
TEST(Sweep, MpiRanksShareTheRunsAndGiveTheLocalTable) {
  const fs::path dir = scratch("mpi");
  const fs::path file = write_sweep(dir, R"(
[sweep]
run_reports = false
[[sweep.axes]]
key = "init.gamma"
values = [0.5, 1.0, 1.5]
[[sweep.axes]]
key = "train.lr"
values = [0.01, 0.02]
)");
  ASSERT_EQ(run("sweep " + file.string() + " --quiet --out " + (dir / "local").string()).code, 0);
  const auto mpi = condense_test::run_shell(mpirun() + CONDENSE_BINARY + " sweep " + file.string() +
                                            " --out " + (dir / "mpi").string());
  ASSERT_EQ(mpi.code, 0) << mpi.output;
  const std::string& output = mpi.output;
  EXPECT_THAT(output, HasSubstr("under MPI: 6 runs: 0 finished already, 0 with invalid settings, 6 "
                                "to train on 2 worker ranks"));
  EXPECT_THAT(output, HasSubstr("(rank 1)"));
  EXPECT_THAT(output, HasSubstr("(rank 2)"));
  const condense::CsvTable a = table_of(dir / "local"), b = table_of(dir / "mpi");
  ASSERT_EQ(b.rows.size(), 6u);
  for (std::size_t r = 0; r < 6; ++r)
    for (const char* column : {"run", "status", "train_loss", "fc1.max_rd"})
      EXPECT_EQ(cell(a, r, column), cell(b, r, column)) << r << column;
  EXPECT_TRUE(fs::exists(dir / "mpi" / "report.html"));
  EXPECT_TRUE(fs::exists(dir / "mpi" / "figures" / "phase_max_mean_abs_cos_gamma_lr.png"));
}

// A rank killed mid-run stops the MPI job; nothing finished is lost and a rerun completes the
// sweep.
TEST(Sweep, ADeadRankStopsTheJobAndARerunCompletesTheSweep) {
  const fs::path dir = scratch("dead_rank");
  const fs::path out = dir / "out";
  const fs::path file = write_sweep(dir, R"(
[sweep]
run_reports = false
[[sweep.axes]]
key = "train.lr"
values = [0.01, 0.02, 0.03, 0.04]
)");
  const std::string settings = " --set train.steps=300000 --set track.snapshots=none --out " + out.string();
  const Background bg = start(dir, mpirun() + CONDENSE_BINARY + " sweep " + file.string() + settings);
  // Kill rank 2 once both worker ranks train.
  wait_for_processes({"sweep", out.string()}, 3);
  for (int i = 0; i < 100 && !(fs::exists(out / "lr=0.01") && fs::exists(out / "lr=0.02")); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const auto ranks = condense_processes({"sweep", out.string()});
  ASSERT_EQ(ranks.size(), 3u);
  for (const auto& p : ranks)
    if (p.rank == 2) ::kill(p.pid, SIGKILL);
  EXPECT_NE(wait_for(bg), 0);
  EXPECT_THAT(condense::read_file(bg.log), HasSubstr("rank 2"));
  const condense::CsvTable stopped = table_of(out);
  EXPECT_EQ(stopped.rows.size(), 4u);  // the table lists every run, finished or not

  const auto rerun = condense_test::run_shell(mpirun() + CONDENSE_BINARY + " sweep " + file.string() + settings);
  ASSERT_EQ(rerun.code, 0) << rerun.output;
  const condense::CsvTable t = table_of(out);
  for (std::size_t r = 0; r < t.rows.size(); ++r) {
    EXPECT_EQ(cell(t, r, "status"), "completed") << r;
    EXPECT_EQ(cell(t, r, "steps"), "300000") << r;
  }
}

// ---------------------------------------------------------------------------------------------
// Phase diagrams and the sweeps in experiments/.

TEST(PhaseDiagram, MarksFallBetweenCells) {
  using condense::cell_coordinate;
  EXPECT_DOUBLE_EQ(cell_coordinate({0.25, 0.5, 0.75, 1.0}, 0.5, false), 1.0);
  EXPECT_DOUBLE_EQ(cell_coordinate({0.25, 0.5, 0.75, 1.0}, 0.625, false), 1.5);
  EXPECT_NEAR(cell_coordinate({1e-3, 1e-2, 1e-1}, std::sqrt(1e-3 * 1e-2), true), 0.5, 1e-12);
  EXPECT_TRUE(std::isnan(cell_coordinate({0.25, 0.5}, 2.0, false)));
  EXPECT_TRUE(std::isnan(cell_coordinate({1.0}, 2.0, false)));
}

std::vector<std::string> sweep_files() {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(fs::path(CONDENSE_SOURCE_DIR) / "experiments"))
    if (entry.path().extension() == ".toml" &&
        condense::read_file(entry.path()).find("\n[sweep]") != std::string::npos)
      names.push_back(entry.path().stem().string());
  std::sort(names.begin(), names.end());
  return names;
}

class SweepQuick : public ::testing::TestWithParam<std::string> {};

// The reduced version of each sweep in experiments/: every run completes and every figure the
// file asks for is drawn, with no notes on the page.
TEST_P(SweepQuick, RunsAndDrawsItsPhaseDiagrams) {
  const fs::path file = fs::path(CONDENSE_SOURCE_DIR) / "experiments" / (GetParam() + ".toml");
  const fs::path out = scratch("quick_" + GetParam());
  const auto r = run("sweep " + file.string() + " --quick --quiet --out " + out.string());
  ASSERT_EQ(r.code, 0) << r.output;
  const condense::Sweep sweep = condense::load_sweep(file, {{}, true});
  const condense::CsvTable t = table_of(out);
  ASSERT_EQ(t.rows.size(), sweep.runs.size());
  for (std::size_t i = 0; i < t.rows.size(); ++i)
    EXPECT_THAT(cell(t, i, "status"), ::testing::AnyOf("completed", "diverged")) << i;
  ASSERT_FALSE(sweep.figures.empty());
  for (const auto& figure : sweep.figures)
    EXPECT_TRUE(fs::exists(out / "figures" / ("phase_" + figure.name + ".png"))) << figure.name;
  EXPECT_THAT(condense::read_file(out / "report.html"), Not(HasSubstr("<div class=\"notes\">")));
}

INSTANTIATE_TEST_SUITE_P(Experiments, SweepQuick, ::testing::ValuesIn(sweep_files()),
                         [](const auto& param_info) { return param_info.param; });

TEST(SweepDocs, ExplainLocalMpiAndShards) {
  const std::string docs = condense::read_file(fs::path(CONDENSE_SOURCE_DIR) / "docs" / "sweeps.md");
  for (const char* part : {"condense sweep", "mpirun", "--shard", "--aggregate", "sbatch", "sweep.csv",
                           "[[sweep.axes]]", "zip", "--workers"})
    EXPECT_THAT(docs, HasSubstr(part)) << part;
  EXPECT_FALSE(sweep_files().empty());
}

}  // namespace
