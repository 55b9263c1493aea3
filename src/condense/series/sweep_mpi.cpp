// `mpirun -n R condense sweep SWEEP.toml`: the runs of a sweep spread over the ranks of an MPI job
// with a dynamic work queue. Rank 0 hands out one run at a time to whichever rank asks, records
// each result in the shared sweep directory (sweep.csv stays current) and writes the summary at
// the end; ranks 1..R−1 train, each with its share of its node's cores. The directory is the same
// as a local sweep's, so a sweep started under MPI can be finished locally and the other way round.
//
// When a rank dies, mpirun stops the job with SIGTERM: the ranks that are training save their
// checkpoints, rank 0 writes sweep.csv as it stands, and rerunning the command resumes the rest.
#include <fcntl.h>
#include <fmt/format.h>
#include <mpi.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <thread>

#include "condense/core/atomic_file.hpp"
#include "condense/core/error.hpp"
#include "condense/core/exit_codes.hpp"
#include "condense/core/stop_signals.hpp"
#include "condense/series/local_workers.hpp"
#include "condense/series/series_run.hpp"
#include "condense/series/sweep.hpp"

namespace condense {

namespace fs = std::filesystem;

namespace {

constexpr int kTagResult =
    1;  // worker → rank 0: "index code milliseconds\nerror" (index −1: ready)
// rank 0 → worker: "index name\n<the run's resolved config>", or "-1" to stop. The worker trains
// the config it receives, so editing the sweep file while the job runs changes nothing of it.
constexpr int kTagWork = 2;

int env_int(const char* name, int fallback) {
  const char* value = std::getenv(name);
  if (!value) return fallback;
  try {
    return std::stoi(value);
  } catch (const std::exception&) {
    return fallback;
  }
}

struct Result {
  long index = -1;
  int code = 0;
  long milliseconds = 0;
  std::string error;
};

std::string encode(const Result& r) {
  return fmt::format("{} {} {}\n{}", r.index, r.code, r.milliseconds, r.error);
}

Result decode(const std::string& text) {
  Result r;
  const auto newline = text.find('\n');
  std::sscanf(text.substr(0, newline).c_str(), "%ld %d %ld", &r.index, &r.code, &r.milliseconds);
  if (newline != std::string::npos) r.error = text.substr(newline + 1);
  return r;
}

SweepOutcome coordinate(const Sweep& sweep, const fs::path& out, const SweepSchedule& schedule,
                        int ranks) {
  SweepOutcome outcome;
  make_directories(out);
  const SweepPlan plan = plan_sweep(sweep, out, 0, 1);
  const std::vector<std::size_t>& pending = plan.pending;
  outcome.kept = plan.kept;
  outcome.failed = int(plan.invalid.size());
  if (!schedule.quiet)
    print_plan(sweep, plan, " under MPI",
               fmt::format("{} worker rank{}", ranks - 1, ranks == 2 ? "" : "s"));
  SweepTable table(sweep, out);
  table.write();

  StopSignals signals;

  std::size_t next = 0, finished = 0;
  int active = ranks - 1;
  std::map<int, std::size_t> training;  // rank → the run it trains
  while (active > 0) {
    if (const int signal = signals.requested()) {
      // mpirun stops every rank when one dies or the job is cancelled; what finished is on disk,
      // and the runs in flight are recorded as stopped (their checkpoints are kept).
      for (const auto& [worker, index] : training) {
        const std::string& name = sweep.runs[index].name;
        make_directories(out / "errors");
        write_file_atomic(
            sweep_error_file(out, name),
            fmt::format("stopped while training on rank {} (signal {}: a rank died or "
                        "the job was cancelled); rerunning the sweep resumes it from "
                        "its last checkpoint\n",
                        worker, signal));
        table.refresh(index);
      }
      table.write();
      fmt::print(stderr,
                 "condense: the sweep was stopped by signal {} ({}): a rank died or the job was "
                 "cancelled. {} of its {} runs finished in this job and are in {}; runs that were "
                 "training saved checkpoints. Rerun the same command to train the rest.\n",
                 signal, strsignal(signal), finished, pending.size(), (out / "sweep.csv").string());
      std::fflush(stderr);
      std::_Exit(kExitInterrupted);
    }
    int waiting = 0;
    MPI_Status status;
    MPI_Iprobe(MPI_ANY_SOURCE, kTagResult, MPI_COMM_WORLD, &waiting, &status);
    if (!waiting) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      continue;
    }
    int length = 0;
    MPI_Get_count(&status, MPI_CHAR, &length);
    std::string text(std::size_t(length), '\0');
    MPI_Recv(text.data(), length, MPI_CHAR, status.MPI_SOURCE, kTagResult, MPI_COMM_WORLD,
             MPI_STATUS_IGNORE);
    const Result result = decode(text);
    training.erase(status.MPI_SOURCE);
    if (result.index >= 0 && std::size_t(result.index) < sweep.runs.size()) {
      ++finished;
      const SweepRun& run = sweep.runs[std::size_t(result.index)];
      ++(result.code == 0               ? outcome.trained
         : result.code == kExitDiverged ? outcome.diverged
                                        : outcome.failed);
      if (!schedule.quiet)
        fmt::print(stderr, "condense: [{}/{}] {} (rank {}): {} ({:.1f} s)\n", finished,
                   pending.size(), run.name, status.MPI_SOURCE,
                   result.code == 0 ? "completed" : result.error, result.milliseconds / 1000.0);
      table.refresh(std::size_t(result.index));
      table.write();
    }
    std::string work = "-1";
    if (next < pending.size()) {
      const std::size_t index = pending[next++];
      work = fmt::format("{} {}\n{}", index, sweep.runs[index].name,
                         write_sweep_job(sweep, index, out));
      training[status.MPI_SOURCE] = index;
    } else {
      --active;
    }
    MPI_Send(work.data(), int(work.size()), MPI_CHAR, status.MPI_SOURCE, kTagWork, MPI_COMM_WORLD);
  }
  write_sweep_summary(sweep, table, schedule.quiet);
  return outcome;
}

// A message of `tag` from `source`, whatever its length.
std::string receive_text(int source, int tag) {
  MPI_Status status;
  MPI_Probe(source, tag, MPI_COMM_WORLD, &status);
  int length = 0;
  MPI_Get_count(&status, MPI_CHAR, &length);
  std::string text(std::size_t(length), '\0');
  MPI_Recv(text.data(), length, MPI_CHAR, source, tag, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
  return text;
}

void work(const fs::path& out, const SweepSchedule& schedule, bool report) {
  // This node's cores shared among its ranks (one of which may be rank 0, which only waits).
  const int local = std::max(1, env_int("OMPI_COMM_WORLD_LOCAL_SIZE", 1));
  SweepJobOptions options;
  options.threads =
      schedule.threads > 0 ? schedule.threads : std::max(1, available_cores() / local);
  options.report = report;
  Result result;
  for (;;) {
    const std::string message = encode(result);
    MPI_Send(message.data(), int(message.size()), MPI_CHAR, 0, kTagResult, MPI_COMM_WORLD);
    const std::string job = receive_text(0, kTagWork);
    long index = -1;
    char name[4096] = {};
    if (std::sscanf(job.c_str(), "%ld %4095s", &index, name) < 1 || index < 0) return;
    const std::string config_text = job.substr(std::min(job.size(), job.find('\n') + 1));
    const auto started = std::chrono::steady_clock::now();
    result = {index, 0, 0, ""};
    // The run's output goes to OUT/logs/<run>.log, as a local worker's does.
    const fs::path log = out / "logs" / (std::string(name) + ".log");
    make_directories(log.parent_path());
    std::fflush(stderr);
    const int saved = dup(2);
    const int file = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (file >= 0) dup2(file, 2);
    options.quiet = file < 0;
    result.code = train_sweep_job(out, name, config_text, options);
    std::fflush(stderr);
    if (file >= 0) {
      dup2(saved, 2);
      close(file);
    }
    close(saved);
    result.milliseconds =
        long(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
                 .count());
    if (result.code == kExitInterrupted) {
      // Stopped by mpirun (another rank died) or the user: the checkpoint is saved; rank 0 is
      // going away too, so no goodbye.
      std::fflush(nullptr);
      std::_Exit(kExitInterrupted);
    }
    if (result.code != 0) {
      result.error = recorded_error(sweep_error_file(out, name));
      if (result.error.empty()) result.error = fmt::format("exit code {}", result.code);
    }
  }
}

}  // namespace

bool launched_by_mpi() {
  return env_int("OMPI_COMM_WORLD_SIZE", 1) > 1 || env_int("PMI_SIZE", 1) > 1;
}

SweepOutcome run_sweep_mpi(const Sweep& sweep, const fs::path& out, const SweepSchedule& schedule) {
  MPI_Init(nullptr, nullptr);
  int rank = 0, ranks = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &ranks);
  SweepOutcome outcome;
  if (rank == 0) {
    outcome = coordinate(sweep, out, schedule, ranks);
  } else {
    work(out, schedule, sweep.run_reports);
  }
  MPI_Finalize();
  if (rank != 0) std::exit(0);  // only rank 0 reports the sweep's outcome
  return outcome;
}

}  // namespace condense
