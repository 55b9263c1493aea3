#pragma once
// Runs the condense executable as a user does, for end-to-end tests: its exit code and
// everything it printed (stdout and stderr).
#include <sys/wait.h>

#include <cstdio>
#include <string>

namespace condense_test {

struct Result {
  int code = -1;
  std::string output;
};

// Runs a shell command line; its exit code and everything it printed.
inline Result run_shell(const std::string& command) {
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  Result result;
  if (!pipe) return result;
  char buffer[4096];
  while (std::size_t n = fread(buffer, 1, sizeof(buffer), pipe)) result.output.append(buffer, n);
  const int status = pclose(pipe);
  result.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

inline Result run(const std::string& arguments) {
  return run_shell(std::string(CONDENSE_BINARY) + " " + arguments);
}

}  // namespace condense_test
