#include "condense/series/local_workers.hpp"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>
#include <thread>

#include "condense/core/error.hpp"
#include "condense/core/stop_signals.hpp"

extern char** environ;

namespace condense {

namespace {

using Clock = std::chrono::steady_clock;

// Starts `command` as a child of this executable; returns its pid.
pid_t spawn_worker(const WorkerCommand& command) {
  // argv[0]: the executable as ps shows it.
  std::vector<std::string> arguments = {std::filesystem::read_symlink("/proc/self/exe").string()};
  arguments.insert(arguments.end(), command.arguments.begin(), command.arguments.end());
  std::vector<char*> argv;
  for (auto& a : arguments) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  const std::string log = command.log.string();
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  // Its own process group: a Ctrl-C reaches the pool, which passes it on once.
  posix_spawnattr_setpgroup(&attributes, 0);
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGINT);
  sigaddset(&defaults, SIGTERM);
  posix_spawnattr_setsigdefault(&attributes, &defaults);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF);
  pid_t pid = 0;
  const int error =
      posix_spawn(&pid, "/proc/self/exe", &actions, &attributes, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  if (error != 0) fail_io("cannot start a worker process: {}", std::strerror(error));
  return pid;
}

}  // namespace

bool run_workers(std::size_t count, int workers,
                 const std::function<WorkerCommand(std::size_t)>& command,
                 const std::function<void(std::size_t, const WorkerExit&)>& finished,
                 const std::function<void(std::size_t running)>& on_stop) {
  StopSignals signals;
  struct Running {
    std::size_t job;
    Clock::time_point started;
  };
  std::map<pid_t, Running> running;
  std::size_t next = 0;
  bool forwarded = false;
  while (next < count || !running.empty()) {
    const bool stop = signals.requested() != 0;
    if (stop && !forwarded) {
      if (on_stop) on_stop(running.size());
      for (const auto& [pid, job] : running) kill(pid, SIGTERM);
      forwarded = true;
    }
    while (!stop && next < count && int(running.size()) < std::max(1, workers)) {
      running[spawn_worker(command(next))] = {next, Clock::now()};
      ++next;
    }
    if (running.empty()) break;
    int status = 0;
    const pid_t pid = waitpid(-1, &status, 0);
    if (pid < 0) {
      if (errno == EINTR) continue;
      fail_io("waiting for the worker processes: {}", std::strerror(errno));
    }
    const auto it = running.find(pid);
    if (it == running.end()) continue;
    const Running job = it->second;
    running.erase(it);
    WorkerExit exit;
    exit.seconds = std::chrono::duration<double>(Clock::now() - job.started).count();
    if (WIFSIGNALED(status))
      exit.signal = WTERMSIG(status);
    else
      exit.exit_code = WEXITSTATUS(status);
    finished(job.job, exit);
  }
  return signals.requested() != 0;
}

int available_cores() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return std::max(1, CPU_COUNT(&set));
  return std::max(1u, std::thread::hardware_concurrency());
}

}  // namespace condense
