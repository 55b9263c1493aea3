#pragma once
// A pool of worker processes on this machine: each job runs as a child process of this very
// executable (/proc/self/exe, even if the file was rebuilt since), in its own process group, with
// its output in a log file. SIGINT and SIGTERM stop the pool from starting more jobs, are passed on
// to the running workers once (a training worker saves its checkpoint) and the pool waits for them.
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace condense {

// How a job is started: the arguments after argv[0], and where its stdout and stderr go.
struct WorkerCommand {
  std::vector<std::string> arguments;
  std::filesystem::path log;
};

// How a worker ended.
struct WorkerExit {
  int exit_code = 0;  // when it exited
  int signal = 0;     // when a signal killed it (then exit_code means nothing)
  double seconds = 0;
};

// Runs jobs 0..count−1, at most `workers` at a time, in order: `command(i)` gives job i's command
// when it starts, `finished(i, exit)` is called in this process as each one ends. Returns true when
// SIGINT or SIGTERM stopped the pool (the jobs not started are left); false when every job ran.
bool run_workers(std::size_t count, int workers,
                 const std::function<WorkerCommand(std::size_t)>& command,
                 const std::function<void(std::size_t, const WorkerExit&)>& finished,
                 const std::function<void(std::size_t running)>& on_stop = {});

// The cores this process may run on (its affinity mask).
int available_cores();

}  // namespace condense
