// condense sweep SWEEP.toml [--quick] [--set key=value]... [--out DIR] [--workers N]
//                [--threads T] [--shard I/N] [--aggregate] [--quiet]
//
// Many runs over a grid of settings, on this machine's cores, over the ranks of an MPI job
// (`mpirun -n R condense sweep ...`) or in shards of a job array; then sweep.csv, phase diagrams
// and report.html (series/sweep.hpp, docs/sweeps.md).
#include <fmt/format.h>

#include "condense/cli/commands.hpp"
#include "condense/core/atomic_file.hpp"
#include "condense/core/error.hpp"
#include "condense/series/sweep.hpp"

namespace condense {

namespace fs = std::filesystem;

namespace {

std::pair<int, int> parse_shard(const std::string& text) {
  const auto slash = text.find('/');
  int shard = -1, shards = 0;
  try {
    if (slash != std::string::npos) {
      std::size_t used = 0;
      shard = std::stoi(text.substr(0, slash), &used);
      if (used != slash) shard = -1;
      shards = std::stoi(text.substr(slash + 1), &used);
      if (used != text.size() - slash - 1) shards = 0;
    }
  } catch (const std::exception&) {
    shards = 0;
  }
  if (shards < 1 || shard < 0 || shard >= shards)
    fail_input(
        "--shard {}: expected I/N with 0 ≤ I < N, e.g. --shard 0/4 (Slurm: "
        "--shard $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT)",
        text);
  return {shard, shards};
}

// The most runs or threads of a machine condense plans for (as the config's threads key).
constexpr int kMaxCount = 1024;

// A whole number from 1 to kMaxCount given to `option`; "" (not given) is 0, the default.
int parse_count(const std::string& option, const std::string& text, const char* what) {
  if (text.empty()) return 0;
  int value = 0;
  bool ok = false;
  try {
    std::size_t used = 0;
    value = std::stoi(text, &used);
    ok = used == text.size();
  } catch (const std::exception&) {
  }
  if (!ok || value < 1 || value > kMaxCount)
    fail_input("{} {}: expected {}, a whole number from 1 to {}", option, text, what, kMaxCount);
  return value;
}

}  // namespace

void add_sweep_command(CLI::App& app) {
  struct Options {
    std::string file, out, shard, workers, threads;
    SweepOptions sweep;
    bool aggregate = false, quiet = false;
  };
  auto options = std::make_shared<Options>();
  CLI::App* command = app.add_subcommand(
      "sweep",
      "Train a grid of runs (init scale, learning rate, width, activation, seeds...) and "
      "draw phase diagrams (docs/sweeps.md); under mpirun, over the ranks of the job");
  command->add_option("SWEEP", options->file, "The sweep's TOML file")->required();
  command->add_flag("--quick", options->sweep.quick,
                    "The reduced version: the file's sweep.quick settings and each axis's quick "
                    "values");
  command->add_option("--set", options->sweep.overrides, "Override a key in every run (repeatable)")
      ->allow_extra_args(false);
  command->add_option("--out", options->out,
                      "Sweep folder (default: runs/<sweep name>, with _quick for --quick)");
  command->add_option("--workers", options->workers,
                      "Runs trained at once on this machine, 1 to 1024 (default: one per core)");
  command->add_option("--threads", options->threads,
                      "Threads per run, 1 to 1024 (default: the cores shared among the workers)");
  command->add_option("--shard", options->shard,
                      "Train only shard I of N (0 ≤ I < N): runs i with i % N == I, for job "
                      "arrays; then condense sweep FILE --aggregate");
  command->add_flag("--aggregate", options->aggregate,
                    "Train nothing: write sweep.csv, the phase diagrams and report.html from the "
                    "run directories as they are");
  command->add_flag("--quiet", options->quiet, "Only errors and the final line");
  command->callback([options] {
    const int workers = parse_count("--workers", options->workers, "the runs trained at once");
    const int threads = parse_count("--threads", options->threads, "the threads of each run");
    const Sweep sweep = load_sweep(options->file, options->sweep);
    fs::path out = options->out;
    if (out.empty())
      out = fs::path("runs") /
            (fs::path(options->file).stem().string() + (options->sweep.quick ? "_quick" : ""));

    if (options->aggregate) {
      if (!options->shard.empty())
        fail_input("--aggregate and --shard: aggregate after the shards");
      write_sweep_summary(sweep, out, options->quiet);
      return;
    }

    SweepSchedule schedule;
    schedule.workers = workers;
    schedule.threads = threads;
    schedule.quiet = options->quiet;
    if (!options->shard.empty())
      std::tie(schedule.shard, schedule.shards) = parse_shard(options->shard);

    SweepOutcome outcome;
    if (launched_by_mpi()) {
      if (schedule.shards > 1 || schedule.workers > 0)
        fail_input("under mpirun the ranks share the runs; drop --shard and --workers");
      outcome = run_sweep_mpi(sweep, out, schedule);
    } else {
      outcome = run_sweep_local(sweep, out, schedule);
      if (schedule.shards > 1 && !options->quiet)
        fmt::print(stderr,
                   "condense: shard {}/{}: {} trained, {} diverged, {} finished already, "
                   "{} failed. When every shard is done: condense sweep {} --out {} --aggregate\n",
                   schedule.shard, schedule.shards, outcome.trained, outcome.diverged, outcome.kept,
                   outcome.failed, options->file, out.string());
    }
    if (outcome.interrupted) {
      fmt::print(stderr, "condense: the sweep was interrupted; run the same command to continue\n");
      throw CommandExit{kExitInterrupted};
    }
    if (outcome.failed > 0) {
      fmt::print(stderr, "condense: error: {} run{} failed (sweep.csv and {}/errors/ have why)\n",
                 outcome.failed, outcome.failed == 1 ? "" : "s", out.string());
      throw CommandExit{kExitDiverged};
    }
  });
}

void add_sweep_job_command(CLI::App& app) {
  struct Options {
    std::string out, name, threads;
    bool no_report = false;
  };
  auto options = std::make_shared<Options>();
  // A sweep's worker process (series/local_workers.hpp): not for users, so not in the help.
  CLI::App* command = app.add_subcommand("sweep-job", "");
  command->group("");
  command->add_option("OUT", options->out)->required();
  command->add_option("NAME", options->name)->required();
  command->add_option("--threads", options->threads);
  command->add_flag("--no-report", options->no_report);
  command->callback([options] {
    const fs::path out = options->out;
    SweepJobOptions job;
    job.threads = parse_count("--threads", options->threads, "the threads of the run");
    job.report = !options->no_report;
    const std::string text = read_file(sweep_job_file(out, options->name));
    const int code = train_sweep_job(out, options->name, text, job);
    if (code != 0) throw CommandExit{code};
  });
}

}  // namespace condense
